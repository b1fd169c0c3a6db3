"""The plan of a run: every file it writes and every job that writes it, derived once from the validated config.

The rules take their path patterns, logs, benchmarks and final targets from here; ``agon status`` groups the same
jobs into stages, ``agon estimate`` counts them and the report rules read the same figure list, so they agree by
construction. A new stage is one entry in ``FILES`` and ``LOGS`` and one block in ``Plan.jobs``, plus its rule.

Words (docs/architecture.md, glossary): a *judge* is an item of ``judging.judges`` (``peer``, ``logprob``, the
``verifier`` or an external judge's name); its *jurors* cast the verdicts: every member for a member judge
(``peer``, ``logprob``), the judge itself otherwise. A *duel* is two answers put before the judges, a row of
``matches.parquet``. Pure Python, no Snakemake: the package never imports it.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from agon.debate.config import DebateConfig, turns
from agon.names import MEMBER_METHODS, is_embedded

# Every file or folder a run writes, relative to its folder ``results/<run>``. Wildcards: i (iteration), model,
# group (members one generation job serves), shard, turn, judge, juror, scheme, split, figure, decoding (greedy or
# sampled held-out answers).
FILES: dict[str, str] = {
    "split": "data/{split}.parquet",
    "tokenizer": "bootstrap/tokenizer",
    "member": "models/{model}",
    "prompts": "iter_{i}/prompts.parquet",
    "matches": "iter_{i}/matches.parquet",
    "duel_prompts": "iter_{i}/prompts/{model}.parquet",
    "generation_shard": "iter_{i}/generations/shards/{group}/{shard}.parquet",
    "generations": "iter_{i}/generations/{model}.parquet",
    "inference_settings": "iter_{i}/inference/{group}/settings.json",
    "inference_heldout": "iter_{i}/inference/{group}/heldout_{decoding}.parquet",
    "inference_references": "iter_{i}/inference/{group}/references/{shard}.parquet",
    "previous_generations": "iter_{i}/generations/previous/{model}.parquet",
    "speeches": "iter_{i}/debate/turn_{turn}/{model}.parquet",
    "transcripts": "iter_{i}/transcripts.parquet",
    "debate_duels": "iter_{i}/debate/duels.parquet",
    "judgments": "iter_{i}/judgments/{judge}/{juror}.parquet",
    "branch_judgments": "iter_{i}/judgments/branches/{judge}/{juror}.parquet",
    "judgment_shard": "iter_{i}/judgments/{judge}/shards/{juror}/{shard}.parquet",
    "branch_judgment_shard": "iter_{i}/judgments/branches/{judge}/shards/{juror}/{shard}.parquet",
    "audit": "iter_{i}/judgments/audit.json",
    "audit_figure": "iter_{i}/judgments/audit.png",
    "agreement": "iter_{i}/judgments/agreement.json",
    "ratings": "iter_{i}/ratings/{scheme}.json",
    "ratings_by_judge": "iter_{i}/ratings/by_{judge}/{scheme}.json",
    "comparison": "iter_{i}/ratings/comparison.json",
    "comparison_figure": "iter_{i}/ratings/comparison.png",
    "win_rates": "iter_{i}/ratings/win_rates.parquet",
    "selfplay_summary": "iter_{i}/ratings/selfplay.json",
    "debate_outcomes": "iter_{i}/ratings/debate.json",
    "pairs": "iter_{i}/pairs/{model}.parquet",
    "pair_stats": "iter_{i}/pairs/stats.json",
    "adapter": "iter_{i}/adapters/{model}",
    "evaluation": "iter_{i}/eval/{model}.json",
    "heldout_answers": "iter_{i}/eval/answers/{model}.parquet",
    "win_rate_vs_base": "iter_{i}/eval/vs_base/{model}.json",
    "vs_base_judgments": "iter_{i}/eval/vs_base/judgments.parquet",
    "trajectory": "ratings/{scheme}.tsv",
    "health": "ratings/{scheme}_health.tsv",
    "tournament_judgments": "tournament/judgments.parquet",
    "tournament_ratings": "tournament/ratings.tsv",
    "tournament_win_matrix": "tournament/win_matrix.tsv",
    "tournament_summary": "tournament/summary.json",
    "figure": "report/{figure}.png",
    "cache": "cache/{judge}",
}

# Each rule's log, relative to ``logs/`` of the run folder, without ``.log``; its resource record is the same path
# under ``benchmarks/``, as ``.tsv``. The first folder of a log names the log folder ``agon status`` reads. Rules are
# listed in the order of a run, which ``agon estimate`` prints.
LOGS: dict[str, str] = {
    "task_splits": "task_splits",
    "tokenizer": "tokenizer",
    "embedded_member": "embedded_member/{model}",
    "iteration_prompts": "iteration_prompts/iter_{i}",
    "schedule": "schedule/iter_{i}",
    "selfplay_matches": "selfplay_matches/iter_{i}",
    "debate_matches": "debate_matches/iter_{i}",
    "duel_prompts": "duel_prompts/iter_{i}/{model}",
    "generate_shard": "generate/iter_{i}/{group}/{shard}",
    "infer": "infer/iter_{i}/{group}",
    "gather_generations": "gather_generations/iter_{i}/{model}",
    "selfplay_previous_policy": "selfplay_previous_policy/iter_{i}/{model}",
    "debate_turn": "debate_turn/iter_{i}/turn_{turn}/{model}",
    "debate_transcript": "debate_transcript/iter_{i}",
    "judge_by_member": "judge/iter_{i}/{judge}/{juror}/{shard}",
    "gather_member_judgments": "gather_judgments/iter_{i}/{judge}/{juror}",
    "judge_by_verifier": "judge/iter_{i}/verifier",
    "judge_by_external": "judge/iter_{i}/{judge}/{shard}",
    "gather_external_judgments": "gather_judgments/iter_{i}/{judge}",
    "judge_audit": "judge_audit/iter_{i}",
    "judge_agreement": "judge_agreement/iter_{i}",
    "rate": "rate/iter_{i}/{scheme}",
    "rate_by_judge": "rate/iter_{i}/by_{judge}/{scheme}",
    "compare_schemes": "compare_schemes/iter_{i}",
    "selfplay_win_rates": "selfplay_win_rates/iter_{i}",
    "selfplay_pairs": "selfplay_pairs/iter_{i}",
    "debate_outcomes": "debate_outcomes/iter_{i}",
    "debate_pairs": "debate_pairs/iter_{i}",
    "pairs": "pairs/iter_{i}",
    "rating_trajectory": "rating_trajectory/{scheme}",
    "train": "train/iter_{i}/{model}",
    "evaluate": "evaluate/iter_{i}/{model}",
    "evaluate_vs_base": "evaluate_vs_base/iter_{i}",
    "tournament": "tournament",
    "report_accuracy": "report/accuracy",
    "report_win_rate_vs_base": "report/win_rate_vs_base",
    "report_tournament": "report/tournament",
    "report_win_rates": "report/win_rates",
    "report_training": "report/training",
    "report_pairs": "report/pairs",
    "report_ratings": "report/ratings_{scheme}",
}

# Which comparisons each protocol writes to matches.parquet, by the rule that writes them.
MATCHES_RULE = {"tribe": "schedule", "selfplay": "selfplay_matches", "debate": "debate_matches"}
PROTOCOLS = tuple(MATCHES_RULE)
SPLITS = ("train", "preference", "heldout")
# The held-out answers an evaluation scores: one greedy answer per prompt, and evaluation.samples_per_prompt samples.
DECODINGS = ("greedy", "sampled")
ITERATION_DIR = re.compile(r"iter_(\d+)")
_WILDCARD = re.compile(r"\{(\w+)\}")


def checkpoint_name(model: str, i: int) -> str:
    """A member as iteration ``i`` uses it (0: the initial model), named apart from the member and its other
    checkpoints in duels between them: a member's name holds no '@'."""
    return f"{model}@iter_{i}"


def member_of(name: str) -> str:
    """The member a duellist's name stands for: a checkpoint's member, or the member itself."""
    return name.split("@", 1)[0]


def file(kind: str, **wildcards: object) -> str:
    """The path of a file of ``kind`` relative to the run folder, every wildcard filled in."""
    return FILES[kind].format(**wildcards)


def fill(pattern: str, **wildcards: object) -> str:
    """``pattern`` with the given wildcards filled in and the others left as ``{name}``."""
    return _WILDCARD.sub(lambda m: str(wildcards[m[1]]) if m[1] in wildcards else m[0], pattern)


def log_wildcards(rule: str, log: str) -> dict[str, str]:
    """The wildcards of a job, read back from its log path with its rule's pattern (``LOGS``)."""
    # split on the wildcards: literal text, a wildcard's name, literal text, ...
    parts = _WILDCARD.split(LOGS[rule])
    pattern = "".join(f"(?P<{part}>[^/]+)" if k % 2 else re.escape(part) for k, part in enumerate(parts))
    found = re.fullmatch(pattern, log)
    if found is None:
        raise ValueError(f"{log}: not a log of rule {rule} ({LOGS[rule]})")
    return found.groupdict()


@dataclass(frozen=True)
class Job:
    """One job of a run: its rule, the stage it belongs to and the files it writes (relative to the run folder)."""

    rule: str
    stage: str
    iteration: int | None  # None: a job of the run as a whole
    outputs: tuple[str, ...]
    log: str
    # Outputs Snakemake deletes once consumed (generation and judgment shards): never a finished stage's file.
    temporary: tuple[str, ...] = ()

    @property
    def wildcards(self) -> dict[str, str]:
        return log_wildcards(self.rule, self.log)

    @property
    def kept(self) -> tuple[str, ...]:
        """The outputs that stay on disk once the run is done."""
        return tuple(out for out in self.outputs if out not in self.temporary)


@dataclass(frozen=True)
class Plan:
    """What a run builds: its members, iterations, judges and jobs, from a validated config (``from_config``) or
    inferred from a run's files (``agon.cli.status.infer_plan``)."""

    run: str
    protocol: str
    models: tuple[str, ...]
    embedded: tuple[str, ...]
    iterations: int
    # judging.judges in order, and the external judges among them (any of judging.external may also run on demand).
    judges: tuple[str, ...]
    # The signal scheme of tribe and debate; selfplay rates no scheme.
    scheme: str | None
    signal: str = "peer"
    external: tuple[str, ...] = ()
    # Debate: speeches per debate.
    turns: int = 0
    generation_shards: int = 1
    judge_shards: int = 1
    # generation.one_load where it applies (``one_load``): one inference job per group and iteration.
    one_load_requested: bool = False
    # judging.peer_mode: whether the peer judge answers each prompt itself (reference), which the infer job can do.
    peer_mode: str = "likelihood"
    # Members one generation job serves, keyed by the first: each alone with hf, all on one base model with vllm.
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The judge of each model's win rate against its iteration-0 self (evaluation.judge resolved); None: no such rate.
    evaluation_judge: str | None = None
    # The judge of the tournament of every checkpoint (tournament.judge resolved); None: no tournament.
    tournament_judge: str | None = None
    # Held-out prompts every tournament duel is played on (tournament.prompts resolved).
    tournament_prompts: int = 0
    # How each part was inferred from the files, when no config was given; empty for a config's plan.
    notes: tuple[str, ...] = ()
    # The run folder the paths of ``path`` are rooted at.
    root: str = ""

    def __post_init__(self) -> None:
        if not self.groups:
            object.__setattr__(self, "groups", {m: (m,) for m in self.models})
        if not self.root:
            object.__setattr__(self, "root", f"results/{self.run}")

    @classmethod
    def from_config(cls, config: dict, root: str | Path | None = None) -> "Plan":
        """The plan of a validated config (``agon.config.validate_config``)."""
        models = tuple(config["models"])
        judging = config["judging"]
        return cls(
            run=config["run"],
            protocol=config["protocol"],
            models=models,
            embedded=tuple(m for m in models if is_embedded(config["models"][m])),
            iterations=config["iterations"],
            judges=tuple(judging["judges"]),
            scheme=None if config["protocol"] == "selfplay" else config["rating"]["scheme"],
            signal=judging["signal"],
            external=tuple(judging["external"]),
            turns=len(turns(DebateConfig.from_dict(config["debate"]))),
            generation_shards=config["generation"]["shards"],
            judge_shards=judging["shards"],
            one_load_requested=config["generation"]["one_load"],
            peer_mode=judging["peer_mode"],
            groups=engine_groups(config),
            evaluation_judge=evaluation_judge(config),
            tournament_judge=tournament_judge(config),
            tournament_prompts=tournament_prompts(config),
            root=str(root) if root is not None else "",
        )

    # --- paths ----------------------------------------------------------------------------------------------

    def path(self, kind: str, **wildcards: object) -> str:
        """A file of the run, under its folder."""
        return f"{self.root}/{file(kind, **wildcards)}"

    @staticmethod
    def pattern(kind: str, **wildcards: object) -> str:
        """A rule's pattern for a file of ``kind``, under ``results/{run}``, with the given wildcards filled in."""
        return fill(f"results/{{run}}/{FILES[kind]}", **wildcards)

    @staticmethod
    def log(rule: str) -> str:
        return f"results/{{run}}/logs/{LOGS[rule]}.log"

    @staticmethod
    def benchmark(rule: str) -> str:
        return f"results/{{run}}/benchmarks/{LOGS[rule]}.tsv"

    # --- who does what --------------------------------------------------------------------------------------

    @property
    def member_judges(self) -> tuple[str, ...]:
        return tuple(j for j in self.judges if j in MEMBER_METHODS)

    @property
    def external_judges(self) -> tuple[str, ...]:
        """The external judges that run every iteration."""
        return tuple(j for j in self.judges if j not in MEMBER_METHODS and j != "verifier")

    @property
    def agreement(self) -> bool:
        """judgments/agreement.json: written when the verifier and a member judge both run."""
        return "verifier" in self.judges and bool(self.member_judges)

    @property
    def vs_base(self) -> bool:
        """Whether the run judges each model's held-out answers against its iteration-0 self's (iterations 1..N)."""
        return self.evaluation_judge is not None and self.iterations > 0

    def vs_base_jurors(self) -> tuple[str, ...]:
        """Who judges the win rates against the iteration-0 selves: every member (each as at iteration 0, never on
        its own answers) for a member judge, the judge itself otherwise."""
        return self.jurors(self.evaluation_judge) if self.vs_base else ()

    def vs_base_inputs(self, i: int) -> dict[str, str | list[str]]:
        """What the win rates of iteration i read: every model's held-out answers at i and at 0, and the files of
        the member jurors as at iteration 0."""
        files: dict[str, str | list[str]] = {
            "answers": [self.path("heldout_answers", i=i, model=m) for m in self.models],
            "base": [self.path("heldout_answers", i=0, model=m) for m in self.models],
        }
        for juror in self.vs_base_jurors():
            if juror in self.models:
                files |= {f"{key}_{juror}": path for key, path in self.member_files(juror, 0).items()}
        return files

    @property
    def heldout_answers(self) -> bool:
        """Whether the evaluate jobs keep their greedy held-out answers: for the win rates against iteration 0 or
        for the tournament, which compare them."""
        return self.vs_base or self.tournament

    @property
    def one_load(self) -> bool:
        """Whether one job per group and iteration loads the models once for every inference stage (the infer
        rule): its duel answers, its greedy answers as a reference judge and its held-out evaluation answers.

        Only where it changes no output: tribe and selfplay (debate's speeches are turns of their own). With several
        generation shards the infer job answers shard 0 and the generate_shard jobs the others
        (``generate_shard_numbers``).
        """
        return self.one_load_requested and self.protocol != "debate"

    @property
    def generate_shard_numbers(self) -> range:
        """The generation shards that generate_shard jobs answer: every one, or with one_load all but shard 0, which
        the infer job answers."""
        return range(1 if self.one_load else 0, self.generation_shards)

    def inference_patterns(self) -> dict[str, str]:
        """What the infer job writes beside its duel answers, as rule patterns (wildcards run, i, group), by key:
        the settings it answered with (settings), the greedy and sampled held-out answers, and per judge shard the
        greedy answers of each member as a reference judge (references_<shard>)."""
        return {key: f"results/{{run}}/{path}" for key, path in self._inference_files().items()}

    def reads_answers(self, i: int, judge: str | None = None) -> bool:
        """Whether the evaluate job (``judge`` None) or a member judge's job of iteration i reads its member's answers
        from the infer job instead of loading the model: with one_load, in an iteration that generates (the last
        evaluation has no infer job), and of the judges only the peer judge answering by reference."""
        if not self.one_load or i >= self.iterations:
            return False
        return judge is None or (judge == "peer" and self.peer_mode == "reference")

    def inference_inputs(self, i: int, model: str, judge: str | None = None) -> dict[str, str]:
        """The infer job's files that the evaluate job (``judge`` None) or a member judge's job of ``model`` in
        iteration i reads (``reads_answers``), as rule inputs: keys prefixed ``inference_``."""
        if not self.reads_answers(i, judge):
            return {}
        files = self._inference_files(i=i, group=self.group_of(model))
        return {f"inference_{key}": self.path_of(path) for key, path in files.items()}

    def _inference_files(self, **wildcards: object) -> dict[str, str]:
        return {
            "settings": fill(FILES["inference_settings"], **wildcards),
            **{d: fill(FILES["inference_heldout"], decoding=d, **wildcards) for d in DECODINGS},
            **{
                f"references_{s}": fill(FILES["inference_references"], shard=s, **wildcards)
                for s in range(self.judge_shards)
            },
        }

    # --- the tournament of every checkpoint -------------------------------------------------------------------

    @property
    def tournament(self) -> bool:
        return self.tournament_judge is not None

    @property
    def checkpoints(self) -> tuple[tuple[str, int], ...]:
        """(member, iteration) of every checkpoint: each member as iterations 0 (the initial model) to N use it."""
        return tuple((m, i) for m in self.models for i in range(self.iterations + 1))

    @property
    def checkpoint_names(self) -> tuple[str, ...]:
        return tuple(checkpoint_name(m, i) for m, i in self.checkpoints)

    def tournament_pairs(self) -> list[tuple[str, str]]:
        """Every two checkpoints, once each: the round robin, played on every one of its prompts."""
        return list(combinations(self.checkpoint_names, 2)) if self.tournament else []

    @property
    def tournament_duels(self) -> int:
        """Duels of the tournament: every pair of checkpoints on each of its held-out prompts."""
        return len(self.tournament_pairs()) * self.tournament_prompts

    def tournament_jurors(self) -> tuple[str, ...]:
        """Who judges the tournament: every member as at iteration 0 (a fixed panel) for a member judge, the judge
        itself otherwise."""
        return self.jurors(self.tournament_judge) if self.tournament else ()

    def tournament_seats(self) -> int:
        """(duel, juror) pairs of the tournament at most: a member never judges a duel of one of its own
        checkpoints; duels whose two answers are equal are ties no juror judges."""
        jurors = self.tournament_jurors()
        pairs = self.tournament_pairs()
        seats = sum(1 for a, b in pairs for j in jurors if j not in (member_of(a), member_of(b)))
        return seats * self.tournament_prompts

    def tournament_inputs(self) -> dict[str, str | list[str]]:
        """What the tournament reads: the greedy held-out answers of every checkpoint (in ``checkpoints``
        order), and the files of the member jurors as at iteration 0."""
        files: dict[str, str | list[str]] = {
            "answers": [self.path("heldout_answers", i=i, model=m) for m, i in self.checkpoints]
        }
        for juror in self.tournament_jurors():
            if juror in self.models:
                files |= {f"{key}_{juror}": path for key, path in self.member_files(juror, 0).items()}
        return files

    def group_of(self, model: str) -> str:
        """The generation job's group that answers for ``model``."""
        return next(group for group, members in self.groups.items() if model in members)

    def jurors(self, judge: str) -> tuple[str, ...]:
        """Who casts a judge's verdicts: every member for a member judge, the judge itself otherwise."""
        return self.models if judge in MEMBER_METHODS else (judge,)

    def judgment_files(self, i: int, judge: str, kind: str = "judgments") -> list[str]:
        return [self.path(kind, i=i, judge=judge, juror=juror) for juror in self.jurors(judge)]

    def iteration_judgments(self, i: int) -> list[str]:
        """The verdicts of every judge that runs each iteration (judging.judges)."""
        return [f for judge in self.judges for f in self.judgment_files(i, judge)]

    def generation_files(self, i: int) -> list[str]:
        return [self.path("generations", i=i, model=m) for m in self.models]

    def previous_generation_files(self, i: int) -> list[str]:
        """Selfplay, iteration i > 0: the previous policies' answers to this iteration's prompts."""
        if self.protocol != "selfplay" or i == 0:
            return []
        return [self.path("previous_generations", i=i, model=m) for m in self.models]

    def speech_files(self, i: int, turns: range) -> list[str]:
        return [self.path("speeches", i=i, turn=t, model=m) for t in turns for m in self.models]

    def member_files(self, model: str, i: int) -> dict[str, str]:
        """What a job using ``model`` as iteration ``i`` sees it waits for: the built member and the adapter
        trained in iteration i - 1."""
        files = {"member": self.path("member", model=model)} if model in self.embedded else {}
        if i > 0:
            files["adapter"] = self.path("adapter", i=i - 1, model=model)
        return files

    @property
    def figures(self) -> list[str]:
        """The figures of ``snakemake --report`` built by default: every figure the protocol has, and the rating
        trajectory of the signal scheme only (another scheme's on request)."""
        figures = ["accuracy"]
        if self.vs_base:
            figures.append("win_rate_vs_base")
        if self.iterations:
            figures += ["win_rates", "training", "pairs"]
        if self.iterations and self.scheme:
            figures.append(f"ratings_{self.scheme}")
        if self.tournament:
            figures.append("tournament")
        return figures

    # --- jobs -----------------------------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """Every job ``snakemake`` runs for the default target, in stage order."""
        return list(self._jobs())

    def targets(self) -> list[str]:
        """What ``snakemake`` builds by default: every file of every job but the temporary ones."""
        return [self.path_of(out) for job in self._jobs() for out in job.kept]

    def path_of(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def _job(
        self, rule: str, stage: str, i: int | None, outputs: list[str], temporary: tuple[str, ...] = (), **wildcards
    ) -> Job:
        log = fill(LOGS[rule], **({"i": i} if i is not None else {}), **wildcards)
        temporary = tuple(outputs) if rule in TEMPORARY_RULES else temporary
        return Job(rule, stage, i, tuple(outputs), log, temporary=temporary)

    def _jobs(self) -> Iterator[Job]:
        job = self._job
        yield job("task_splits", "bootstrap", None, [file("split", split=s) for s in SPLITS])
        if self.embedded:
            yield job("tokenizer", "bootstrap", None, [file("tokenizer")])
        for m in self.embedded:
            yield job("embedded_member", "bootstrap", None, [file("member", model=m)], model=m)
        for i in range(self.iterations):
            yield from self._iteration_jobs(i)
        for i in range(self.iterations + 1):
            for m in self.models:
                # The held-out answers are kept only where a later job (vs base, the tournament) reads them.
                answers = [file("heldout_answers", i=i, model=m)] if self.heldout_answers else []
                yield job("evaluate", "eval", i, [file("evaluation", i=i, model=m), *answers], model=m)
        if self.vs_base:
            for i in range(1, self.iterations + 1):
                outputs = [file("win_rate_vs_base", i=i, model=m) for m in self.models]
                yield job("evaluate_vs_base", "eval", i, [*outputs, file("vs_base_judgments", i=i)])
        if self.tournament:
            outputs = [file(kind) for kind in TOURNAMENT_FILES]
            yield job("tournament", "tournament", None, outputs)
        if self.iterations and self.scheme:
            scheme = self.scheme
            outputs = [file("trajectory", scheme=scheme), file("health", scheme=scheme)]
            yield job("rating_trajectory", "trajectory", None, outputs, scheme=scheme)
        for figure in self.figures:
            rule = "report_ratings" if figure.startswith("ratings_") else f"report_{figure}"
            yield job(rule, "report", None, [file("figure", figure=figure)], scheme=self.scheme)

    def _iteration_jobs(self, i: int) -> Iterator[Job]:
        job, models = self._job, self.models
        yield job("iteration_prompts", "matches", i, [file("prompts", i=i)])
        yield job(MATCHES_RULE[self.protocol], "matches", i, [file("matches", i=i)])
        if self.protocol == "debate":
            for turn in range(self.turns):
                for m in models:
                    outputs = [file("speeches", i=i, turn=turn, model=m)]
                    yield job("debate_turn", "speeches", i, outputs, turn=turn, model=m)
            outputs = [file("transcripts", i=i), file("debate_duels", i=i)]
            yield job("debate_transcript", "speeches", i, outputs)
        else:
            for m in models:
                yield job("duel_prompts", "generations", i, [file("duel_prompts", i=i, model=m)], model=m)
            for group in self.groups if self.one_load else ():
                shard = file("generation_shard", i=i, group=group, shard=0)
                outputs = [shard, *self._inference_files(i=i, group=group).values()]
                yield job("infer", "generations", i, outputs, temporary=(shard,), group=group)
            for group in self.groups:
                for shard in self.generate_shard_numbers:
                    outputs = [file("generation_shard", i=i, group=group, shard=shard)]
                    yield job("generate_shard", "generations", i, outputs, group=group, shard=shard)
            for m in models:
                yield job("gather_generations", "generations", i, [file("generations", i=i, model=m)], model=m)
            if self.protocol == "selfplay" and i > 0:
                for m in models:
                    outputs = [file("previous_generations", i=i, model=m)]
                    yield job("selfplay_previous_policy", "generations", i, outputs, model=m)
        yield from self._judgment_jobs(i)
        yield from self._rating_jobs(i)
        for m in models:
            yield job("train", "adapters", i, [file("adapter", i=i, model=m)], model=m)

    def _verdict_files(self, kind: str, i: int, judge: str, juror: str, **wildcards: object) -> list[str]:
        """A juror's verdicts (or a shard's), and debate's verdicts on branched transcripts beside them."""
        kinds = [kind, f"branch_{kind}"] if self.protocol == "debate" else [kind]
        return [file(k, i=i, judge=judge, juror=juror, **wildcards) for k in kinds]

    def _judgment_jobs(self, i: int) -> Iterator[Job]:
        job, shards = self._job, range(self.judge_shards)
        for judge in self.member_judges:
            for m in self.models:
                for shard in shards:
                    outputs = self._verdict_files("judgment_shard", i, judge, m, shard=shard)
                    yield job("judge_by_member", "judgments", i, outputs, judge=judge, juror=m, shard=shard)
        for judge in self.member_judges:
            for m in self.models:
                outputs = self._verdict_files("judgments", i, judge, m)
                yield job("gather_member_judgments", "judgments", i, outputs, judge=judge, juror=m)
        if "verifier" in self.judges:
            yield job("judge_by_verifier", "judgments", i, self._verdict_files("judgments", i, "verifier", "verifier"))
        for judge in self.external_judges:
            for shard in shards:
                outputs = self._verdict_files("judgment_shard", i, judge, judge, shard=shard)
                yield job("judge_by_external", "judgments", i, outputs, judge=judge, shard=shard)
        for judge in self.external_judges:
            outputs = self._verdict_files("judgments", i, judge, judge)
            yield job("gather_external_judgments", "judgments", i, outputs, judge=judge)
        yield job("judge_audit", "judgments", i, [file("audit", i=i), file("audit_figure", i=i)])
        if self.agreement:
            yield job("judge_agreement", "judgments", i, [file("agreement", i=i)])

    def _rating_jobs(self, i: int) -> Iterator[Job]:
        job = self._job
        pairs = [*(file("pairs", i=i, model=m) for m in self.models), file("pair_stats", i=i)]
        if self.protocol == "selfplay":
            outputs = [file("win_rates", i=i), file("selfplay_summary", i=i)]
            yield job("selfplay_win_rates", "ratings", i, outputs)
            yield job("selfplay_pairs", "pairs", i, pairs)
            return
        yield job("rate", "ratings", i, [file("ratings", i=i, scheme=self.scheme)], scheme=self.scheme)
        yield job("compare_schemes", "ratings", i, [file("comparison", i=i), file("comparison_figure", i=i)])
        if self.protocol == "debate":
            yield job("debate_outcomes", "ratings", i, [file("debate_outcomes", i=i)])
            yield job("debate_pairs", "pairs", i, pairs)
        else:
            yield job("pairs", "pairs", i, pairs)


# What the tournament job writes (``FILES`` keys).
TOURNAMENT_FILES = ("tournament_judgments", "tournament_ratings", "tournament_win_matrix", "tournament_summary")

# Rules whose outputs are shards that Snakemake deletes once they are gathered.
TEMPORARY_RULES = frozenset({"generate_shard", "judge_by_member", "judge_by_external"})


def evaluation_judge(config: dict) -> str | None:
    """evaluation.judge with auto resolved: the signal judge on a task without an evaluator (nothing else measures
    it), none on a task with one (held-out accuracy does)."""
    judge = config["evaluation"]["judge"]
    if judge != "auto":
        return judge
    from agon.tasks import evaluator_name  # the task package imports datasets: only a config's plan needs it

    return None if evaluator_name(config["task"]) else config["judging"]["signal"]


def tournament_judge(config: dict) -> str | None:
    """tournament.judge with auto resolved, None when the tournament is off: the verifier on a task with an
    evaluator (exact, and it loads no model), else the signal judge."""
    tournament = config["tournament"]
    if not tournament["enabled"]:
        return None
    judge = tournament["judge"]
    if judge != "auto":
        return judge
    from agon.tasks import evaluator_name  # the task package imports datasets: only a config's plan needs it

    return "verifier" if evaluator_name(config["task"]) else config["judging"]["signal"]


def tournament_prompts(config: dict) -> int:
    """Held-out prompts of the tournament: the first tournament.prompts of the split (at most its size, which the
    config's checks hold it to), or all of them (null); 0 when off."""
    tournament = config["tournament"]
    if not tournament["enabled"]:
        return 0
    return config["task"]["heldout_size"] if tournament["prompts"] is None else tournament["prompts"]


def engine_groups(config: dict) -> dict[str, tuple[str, ...]]:
    """Members one generation job serves, named after the first. With vllm, all members on one base model (same
    weights, chat template and remote-code setting) share an engine, one LoRA request per member; with hf, whose
    generator holds one merged model, each member is its own job. Embedded members each have their own weights."""
    models = config["models"]
    if config["generation"]["backend"] != "vllm":
        return {m: (m,) for m in models}
    by_base: dict[tuple, list[str]] = {}
    for name, member in models.items():
        base = name if is_embedded(member) else member["base"]
        by_base.setdefault((base, member["chat_template"], member["trust_remote_code"]), []).append(name)
    return {members[0]: tuple(members) for members in by_base.values()}
