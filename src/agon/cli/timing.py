"""How long a config's run takes: each job's seconds from a finished run's benchmark records, scaled by the work
the job does, and the jobs scheduled on N job slots in the order their inputs allow.

- **Records.** Snakemake's ``benchmark:`` record of every job (``results/<run>/benchmarks/<log>.tsv``, the job's
  log path of ``agon.plan.LOGS``; column ``s``, the job's wall seconds: Python's start, imports, loading the
  model and the work), read from a finished run and its config (``read_run``), or the calibration shipped beside
  this module (``calibration.tsv``: the default run of ``config/config.yaml`` on the project's 2-core CPU
  machine, written by ``benchmarks/estimate_calibration.py`` from a finished run).
- **Durations.** A job of the estimated plan takes the seconds of the same job in the records (same log path),
  else the mean of its rule's jobs for the same member or judge, else of its rule, else of a kindred rule
  (``KIN``: a debate speech is timed as a generation). The part of a model job above its start (``Calibration.
  start``) is scaled by the work the job does against the work of the records (``units``): answers times the
  tokens each, verdicts times the tokens each, training pairs times their tokens. Model size, method and machine
  are not scaled: records of another model or machine come from a run of it (``--from``).
- **Schedule.** Jobs wait for the jobs that write their inputs (``needs``, as rules/*.smk declare them); a free
  slot takes the ready job with the longest chain of work after it. Each job adds Snakemake's own time per job
  (``Calibration.per_job``: scheduling, checking files, starting the job), measured on the calibration run.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from heapq import heappop, heappush
from pathlib import Path
from statistics import mean

import pandas as pd

from agon.cli.estimate import duels, judge_shape, pair_tokens, trained_pairs
from agon.plan import Job, Plan, log_wildcards

CALIBRATION = Path(__file__).with_name("calibration.tsv")

# Rules whose jobs load a model and hold an accelerator on a GPU machine (``gpu=gpus()`` in rules/*.smk).
MODEL_RULES = frozenset(
    {
        "embedded_member",
        "generate_shard",
        "infer",
        "selfplay_previous_policy",
        "debate_turn",
        "judge_by_member",
        "judge_by_external",
        "train",
        "evaluate",
        "evaluate_vs_base",
        "tournament",
    }
)
# Model rules whose work is generating answers (``units``: answers times tokens): their seconds against their work
# give the start every model job pays before its work.
GENERATING_RULES = ("generate_shard", "infer", "selfplay_previous_policy", "debate_turn", "evaluate")
# A rule without records is timed as its kin: another protocol's rule that reads and writes alike.
KIN = {
    "selfplay_matches": "schedule",
    "debate_matches": "schedule",
    "selfplay_previous_policy": "generate_shard",
    "debate_turn": "generate_shard",
    "infer": "generate_shard",
    "generate_shard": "infer",
    "debate_transcript": "gather_generations",
    "judge_by_external": "judge_by_member",
    "evaluate_vs_base": "judge_by_member",
    "tournament": "judge_by_member",
    "gather_external_judgments": "gather_member_judgments",
    "rate_by_judge": "rate",
    "selfplay_win_rates": "rate",
    "debate_outcomes": "rate",
    "selfplay_pairs": "pairs",
    "debate_pairs": "pairs",
    "report_win_rates": "report_accuracy",
    "report_training": "report_accuracy",
    "report_pairs": "report_accuracy",
    "report_ratings": "report_accuracy",
    "report_win_rate_vs_base": "report_accuracy",
    "report_tournament": "report_accuracy",
}
# What each rule's jobs wait for in their own iteration: every job of these rules, or, where both jobs name a
# member, judge or group, only the jobs of the same (rules/*.smk). Members' models and adapters, previous ratings
# and the run-level rules are added in ``needs``.
_JUDGMENTS = ("gather_member_judgments", "judge_by_verifier", "gather_external_judgments")
_DUELS = ("gather_generations", "selfplay_previous_policy", "debate_transcript")
NEEDS: dict[str, tuple[str, ...]] = {
    "tokenizer": ("task_splits",),
    "embedded_member": ("task_splits", "tokenizer"),
    "iteration_prompts": ("task_splits",),
    "schedule": ("iteration_prompts",),
    "selfplay_matches": ("iteration_prompts",),
    "debate_matches": ("iteration_prompts",),
    "duel_prompts": ("schedule", "selfplay_matches"),
    "generate_shard": ("duel_prompts",),
    "infer": ("duel_prompts",),
    "gather_generations": ("generate_shard", "infer"),
    "selfplay_previous_policy": ("duel_prompts",),
    "debate_turn": ("debate_matches",),
    "debate_transcript": ("debate_turn",),
    "judge_by_member": _DUELS,
    "gather_member_judgments": ("judge_by_member",),
    "judge_by_verifier": _DUELS,
    "judge_by_external": _DUELS,
    "gather_external_judgments": ("judge_by_external",),
    "judge_audit": _JUDGMENTS,
    "judge_agreement": _JUDGMENTS,
    "rate": _JUDGMENTS,
    "compare_schemes": _JUDGMENTS,
    "selfplay_win_rates": _JUDGMENTS,
    "selfplay_pairs": _JUDGMENTS,
    "debate_outcomes": _JUDGMENTS,
    "debate_pairs": (*_JUDGMENTS, "debate_outcomes"),
    "pairs": (*_JUDGMENTS, "rate"),
    "train": ("pairs", "selfplay_pairs", "debate_pairs"),
    "evaluate": ("task_splits", "infer"),
    "evaluate_vs_base": ("evaluate",),
}
# Wildcards that tell two jobs of one rule apart without changing who they serve.
_PARTS = ("i", "shard", "turn")


@dataclass(frozen=True)
class Record:
    """One job of a finished run: its log path under ``logs/`` without ``.log`` (rule and wildcards), its rule,
    its wall seconds and the work it did under its run's config (``units``)."""

    job: str
    rule: str
    seconds: float
    units: float


@dataclass(frozen=True)
class Calibration:
    """Per-job records of one finished run, where they come from, and the two constants read off them: the
    seconds a model job pays before its work (start) and Snakemake's own seconds per job (per_job)."""

    source: str
    records: tuple[Record, ...]
    start: float
    per_job: float


@dataclass(frozen=True)
class TimeEstimate:
    slots: int
    wall_seconds: float
    job_seconds: float
    model_seconds: float
    gpus_per_job: int
    source: str
    notes: tuple[str, ...]

    @property
    def gpu_hours(self) -> float:
        return self.model_seconds * self.gpus_per_job / 3600

    def to_dict(self) -> dict:
        return {
            "jobs_in_parallel": self.slots,
            "wall_seconds": round(self.wall_seconds, 1),
            "job_seconds": round(self.job_seconds, 1),
            "model_job_seconds": round(self.model_seconds, 1),
            "gpus_per_model_job": self.gpus_per_job,
            "gpu_hours": round(self.gpu_hours, 3),
            "from": self.source,
            "notes": list(self.notes),
        }


# --- a job and its work ---------------------------------------------------------------------------------------


def _who(rule: str, log: str) -> str:
    """Whom a job serves, in any iteration, shard or turn: its wildcards less those."""
    wc = log_wildcards(rule, log)
    return ",".join(f"{k}={v}" for k, v in sorted(wc.items()) if k not in _PARTS)


def reads_answers(plan: Plan, job: Job) -> bool:
    """Whether a model rule's job reads its member's answers from the infer job instead of loading the model: it
    does no model work and asks for no GPU (rules/common.smk, reader_gpus)."""
    judge = job.wildcards.get("judge")
    return job.rule in ("evaluate", "judge_by_member") and plan.reads_answers(job.iteration or 0, judge)


def units(config: dict, plan: Plan, job: Job) -> float:
    """The work one job does: answers or verdicts times the most tokens each generates, training pairs times
    their tokens, a member's SFT examples; 1 for a job whose work the config does not size (bookkeeping)."""
    wc = job.wildcards
    m, prompts = len(plan.models), config["task"]["prompts_per_iteration"]
    generation, k = config["generation"], config["generation"]["samples_per_prompt"]
    i = job.iteration or 0
    if reads_answers(plan, job):
        return 0.0  # compares or scores the infer job's answers: no model work
    match job.rule:
        case "embedded_member":
            # SFT examples at most: training usually stops earlier, at the member's target accuracy
            steps = config["models"][wc["model"]]["sft_steps"] or config["embedded"]["sft"]["steps"]
            return steps * config["embedded"]["sft"]["batch_size"]
        case "generate_shard":
            return _duel_answers(config, plan, wc["group"]) / plan.generation_shards
        case "infer":
            # the duel answers of shard 0, and per member its held-out answers and its answers as a reference judge
            members = len(plan.groups[wc["group"]])
            reference = (
                duels(config, i) * judge_shape(config, "peer").jurors / m * config["judging"]["max_new_tokens"]
                if plan.reads_answers(i, "peer")
                else 0
            )
            shard = _duel_answers(config, plan, wc["group"]) / plan.generation_shards
            return shard + members * (_heldout_answers(config) + reference)
        case "selfplay_previous_policy":
            return prompts * k * generation["max_new_tokens"]
        case "debate_turn":
            # each speech of a debate in two alternatives, the speakers taking turns
            return 2 * prompts / m * generation["max_new_tokens"]
        case "judge_by_member" | "judge_by_external":
            shape = judge_shape(config, wc["judge"])
            share = shape.jurors / m if job.rule == "judge_by_member" else 1
            verdicts = duels(config, i) * share * shape.orders / plan.judge_shards
            return verdicts * max(shape.tokens, 1)
        case "judge_by_verifier":
            return duels(config, i)
        case "train":
            return trained_pairs(config) / m * pair_tokens(config)
        case "evaluate":
            return _heldout_answers(config)
        case "evaluate_vs_base":
            shape = judge_shape(config, plan.evaluation_judge)
            return config["task"]["heldout_size"] * m * shape.jurors * shape.orders * max(shape.tokens, 1)
        case "tournament":
            shape = judge_shape(config, plan.tournament_judge)
            return plan.tournament_seats() * shape.orders * max(shape.tokens, 1)
    return 1.0


def _duel_answers(config: dict, plan: Plan, group: str) -> float:
    """Answers times tokens a group generates for its duels in one iteration: tribe, two duellists per duel;
    selfplay, every member answers every prompt."""
    m, prompts = len(plan.models), config["task"]["prompts_per_iteration"]
    generation = config["generation"]
    per_member = prompts * generation["samples_per_prompt"] * (2 / m if plan.protocol == "tribe" else 1)
    return per_member * len(plan.groups[group]) * generation["max_new_tokens"]


def _heldout_answers(config: dict) -> float:
    """Answers times tokens of one member's evaluation: a greedy answer and the samples of each held-out prompt."""
    heldout, evaluation = config["task"]["heldout_size"], config["evaluation"]
    return heldout * (1 + evaluation["samples_per_prompt"]) * evaluation["max_new_tokens"]


def _serves(plan: Plan, job: Job) -> dict[str, set[str]]:
    """Who a job serves, by wildcard (a group stands for its members)."""
    wc = job.wildcards
    served = {k: {v} for k, v in wc.items() if k not in _PARTS}
    if "group" in served:
        served["model"] = set(plan.groups[wc["group"]])
    return served


def _same(served_a: dict[str, set[str]], served_b: dict[str, set[str]]) -> bool:
    """Whether two jobs serve the same member, judge or group wherever both name one (``_serves``)."""
    return all(served_a[k] & served_b[k] for k in served_a.keys() & served_b.keys())


def _loads(plan: Plan, job: Job) -> list[tuple[str, int]]:
    """The (member, iteration) pairs whose model and adapter a model job loads."""
    wc = job.wildcards
    i = job.iteration or 0
    match job.rule:
        case "selfplay_previous_policy":
            return [(wc["model"], i - 1)]
        case "generate_shard" | "infer":
            return [(member, i) for member in plan.groups[wc["group"]]]
        case "debate_turn" | "train" | "evaluate":
            return [(wc["model"], i)]
        case "judge_by_member":
            return [(wc["juror"], i)]
    return []


def needs(plan: Plan, jobs: list[Job]) -> list[list[int]]:
    """For each job, the indexes of the jobs that write its inputs (rules/*.smk, roughly: every job of an input's
    rule in the same iteration, narrowed to the same member where both name one)."""
    index = {(job.rule, job.iteration): [] for job in jobs}
    for k, job in enumerate(jobs):
        index[job.rule, job.iteration].append(k)
    built = {job.wildcards["model"]: k for k, job in enumerate(jobs) if job.rule == "embedded_member"}
    trained = {(job.wildcards["model"], job.iteration): k for k, job in enumerate(jobs) if job.rule == "train"}
    rated = {job.iteration: k for k, job in enumerate(jobs) if job.rule == "rate"}
    served = [_serves(plan, job) for job in jobs]
    result: list[list[int]] = []
    for j, job in enumerate(jobs):
        waits: set[int] = set()
        for rule in NEEDS.get(job.rule, ()):
            # a rule's jobs of the same iteration, or its run-level jobs (the splits, the tokenizer)
            for k in [*index.get((rule, job.iteration), ()), *index.get((rule, None), ())]:
                if rule != job.rule and _same(served[j], served[k]):
                    waits.add(k)
        if job.rule == "debate_turn":
            turn = int(job.wildcards["turn"])
            waits |= {k for k in index[job.rule, job.iteration] if int(jobs[k].wildcards["turn"]) == turn - 1}
        if job.rule == "evaluate_vs_base":
            waits.update(index.get(("evaluate", 0), ()))
        if job.rule == "tournament":  # every checkpoint's held-out answers
            waits.update(k for k, other in enumerate(jobs) if other.rule == "evaluate")
        for member, i in _loads(plan, job):
            waits |= {k for k in (built.get(member), trained.get((member, i - 1))) if k is not None}
        if job.rule in ("schedule", "rate") and job.iteration:
            waits |= {k for k in (rated.get(job.iteration - 1),) if k is not None}
        if job.iteration is None and job.stage in ("trajectory", "report"):
            # the run's summaries read every iteration's files: they wait for every job that is no summary
            waits |= {k for k, other in enumerate(jobs) if other.stage not in ("trajectory", "report")}
            if job.stage == "report":
                waits |= {k for k, other in enumerate(jobs) if other.stage == "trajectory"}
        result.append(sorted(waits))
    return result


# --- records --------------------------------------------------------------------------------------------------


def read_run(run_dir: str | Path, config: dict, per_job: float) -> Calibration:
    """The benchmark records of a finished run of ``config``, one per job of its plan that has one, with
    Snakemake's seconds per job on its machine (``per_job``: the shipped calibration's where none was measured)."""
    root = Path(run_dir)
    plan = Plan.from_config(config, root=root)
    records = []
    for job in plan.jobs():
        path = root / "benchmarks" / f"{job.log}.tsv"
        if path.is_file():
            seconds = float(pd.read_csv(path, sep="\t")["s"].mean())
            records.append(Record(job.log, job.rule, seconds, units(config, plan, job)))
    if not records:
        raise ValueError(f"{root}: no benchmark records (benchmarks/<rule>/...tsv) of the config's jobs")
    start = _start(records)
    return Calibration(f"the benchmark records of {root}", tuple(records), start, per_job)


def _start(records: Iterable[Record]) -> float:
    """The seconds a model job pays before its work: the intercept of the generating jobs' seconds against their
    work (least squares), at least 0; 0 when their work does not vary. A job is never given more than its own
    seconds of start (``_Durations``)."""
    points = [(r.units, r.seconds) for r in records if r.rule in GENERATING_RULES]
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        return 0.0
    x_mean, y_mean = mean(xs), mean(y for _, y in points)
    slope = sum((x - x_mean) * (y - y_mean) for x, y in points) / sum((x - x_mean) ** 2 for x in xs)
    return max(y_mean - slope * x_mean, 0.0)


def _read_calibration(path: Path = CALIBRATION) -> Calibration:
    """The shipped calibration: comment lines (``# key: value``; source, start, per_job), then a TSV of records."""
    header: dict[str, str] = {}
    lines = path.read_text().splitlines()
    for line in lines:
        if line.startswith("# ") and ": " in line:
            key, value = line[2:].split(": ", 1)
            header[key] = value
    table = pd.read_csv(path, sep="\t", comment="#")
    records = tuple(Record(r.job, r.rule, float(r.seconds), float(r.units)) for r in table.itertuples())
    return Calibration(header["source"], records, float(header["start"]), float(header["per_job"]))


def shipped_calibration() -> Calibration:
    return _read_calibration()


def calibration_text(calibration: Calibration, about: Iterable[str] = ()) -> str:
    """The calibration file of a run's records: ``about`` lines, the header keys, then the records."""
    lines = [f"# {line}" for line in about]
    lines += [
        f"# source: {calibration.source}",
        f"# start: {calibration.start:.2f}",
        f"# per_job: {calibration.per_job:.2f}",
        "job\trule\tseconds\tunits",
    ]
    lines += [f"{r.job}\t{r.rule}\t{r.seconds:.2f}\t{r.units:g}" for r in calibration.records]
    return "\n".join(lines) + "\n"


# --- durations and the schedule -------------------------------------------------------------------------------


class _Durations:
    """Seconds of a job from the records: the same job, the same member or judge, the rule, its kin."""

    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration
        self.by_job = {r.job: r for r in calibration.records}
        self.by_rule: dict[str, list[Record]] = {}
        for r in calibration.records:
            self.by_rule.setdefault(r.rule, []).append(r)
        self.missing: set[str] = set()

    def seconds(self, plan: Plan, job: Job, work: float) -> float:
        rule = job.rule if job.rule in self.by_rule or job.rule not in KIN else KIN[job.rule]
        of_rule = self.by_rule.get(rule, [])
        tiers = (
            [self.by_job[job.log]] if job.log in self.by_job else [],
            [r for r in of_rule if _who(r.rule, r.job) == _who(job.rule, job.log)],
            of_rule,
        )
        # Only records alike in having model work or none: an evaluate job that read the infer job's answers
        # (one_load) does not time one that answers the held-out prompts itself.
        alike_tiers = ([r for r in tier if (r.units > 0) == (work > 0)] for tier in tiers)
        found = next((tier for tier in alike_tiers if tier), [])
        if not found:
            self.missing.add(job.rule)
            model = job.rule in MODEL_RULES
            found = [r for r in self.calibration.records if (r.rule in MODEL_RULES) == model]
            found = found or list(self.calibration.records)
        seconds = mean(r.seconds for r in found)
        # work scales a model job's seconds against records of its own rule, or of a rule that generates alike
        alike = rule == job.rule or {rule, job.rule} <= set(GENERATING_RULES)
        if job.rule not in MODEL_RULES or not alike:
            return seconds
        start = min(self.calibration.start, seconds)
        done = mean(r.units for r in found)
        return start + (seconds - start) * (work / done if done > 0 else 1.0)


def schedule(seconds: list[float], waits: list[list[int]], slots: int) -> float:
    """The wall time of jobs of ``seconds`` on ``slots`` slots, each started once the jobs it waits for are done:
    a free slot takes the ready job with the longest chain of seconds after it (critical path first)."""
    after: list[list[int]] = [[] for _ in seconds]
    for k, before in enumerate(waits):
        for b in before:
            after[b].append(k)
    chain = [0.0] * len(seconds)
    for k in reversed(_topological(waits, after)):
        chain[k] = seconds[k] + max((chain[a] for a in after[k]), default=0.0)
    left = [len(before) for before in waits]
    ready = [(-chain[k], k) for k in range(len(seconds)) if not left[k]]
    running: list[tuple[float, int]] = []
    now = 0.0
    ready.sort()
    while ready or running:
        while ready and len(running) < slots:
            _, k = heappop(ready)
            heappush(running, (now + seconds[k], k))
        now, done = heappop(running)
        for a in after[done]:
            left[a] -= 1
            if not left[a]:
                heappush(ready, (-chain[a], a))
    return now


def _topological(waits: list[list[int]], after: list[list[int]]) -> list[int]:
    left = [len(before) for before in waits]
    order = [k for k in range(len(waits)) if not left[k]]
    for k in order:
        for a in after[k]:
            left[a] -= 1
            if not left[a]:
                order.append(a)
    if len(order) != len(waits):
        raise ValueError("the plan's jobs wait for each other in a cycle")
    return order


def gpus_per_job(config: dict) -> int:
    """The GPUs a model job asks for: config gpus_per_job, else 1 on cuda, else none (rules/common.smk)."""
    if config["gpus_per_job"] is not None:
        return config["gpus_per_job"]
    return 1 if config["device"] == "cuda" else 0


def time_estimate(config: dict, calibration: Calibration, slots: int) -> TimeEstimate:
    """Wall time, job time and GPU hours of the run of ``config`` on ``slots`` jobs at once."""
    plan = Plan.from_config(config)
    jobs = plan.jobs()
    durations = _Durations(calibration)
    seconds = [durations.seconds(plan, job, units(config, plan, job)) + calibration.per_job for job in jobs]
    wall = schedule(seconds, needs(plan, jobs), slots)
    model = sum(
        s for s, job in zip(seconds, jobs, strict=True) if job.rule in MODEL_RULES and not reads_answers(plan, job)
    )
    notes = []
    if durations.missing:
        missing = ", ".join(sorted(durations.missing))
        notes.append(
            f"no records of {missing} (or none with model work where it has some, or the reverse): timed as the "
            "records' mean model job, or mean other job"
        )
    if "api" in {config["judging"]["external"][j]["method"] for j in plan.external_judges}:
        notes.append("api judges are timed as member judges; the endpoint's own speed decides")
    return TimeEstimate(slots, wall, sum(seconds), model, gpus_per_job(config), calibration.source, tuple(notes))


def fit_per_job(config: dict, calibration: Calibration, slots: int, wall: float) -> float:
    """Snakemake's own seconds per job on the calibration run: what each job must add to the records' seconds for
    the schedule to take the run's measured ``wall`` seconds (0 if the records alone take longer)."""

    def wall_with(per_job: float) -> float:
        return time_estimate(config, replace(calibration, per_job=per_job), slots).wall_seconds

    low, high = 0.0, wall
    if wall_with(low) >= wall:
        return 0.0
    while high - low > 0.01:
        middle = (low + high) / 2
        low, high = (middle, high) if wall_with(middle) < wall else (low, middle)
    return low
