"""What a config implies before anything runs: jobs per rule, generations, judge verdicts and token bounds.

Counted from the validated config the way the workflow derives its jobs (rules/common.smk and the rules of each
stage), without Snakemake and without a results folder; tests/test_cli.py checks the job counts against
Snakemake's own dry run of the shipped configs.

The model work is counted exactly where the config fixes it and bounded where the data decide:

- answers: tribe duels are one per prompt, each duellist answering ``samples_per_prompt`` times; selfplay
  members answer every prompt that often, and from iteration 1 the previous policy too; debate speeches are two
  alternatives per speech, ``2 * rounds`` speeches per debate.
- verdicts: one row of a judgments table, a (duel, judge, order). Members never judge a duel they fight in:
  M - 2 judge each duel between two members (tribe, debate), M - 1 each selfplay comparison. Methods that judge
  both orders (peer in score mode, logprob, pairwise, api) give two rows per duel.
- tokens: upper bounds of the tokens generated, ``max_new_tokens`` per answer or verdict text; the prompts' tokens
  depend on the tokenizer and the task's prompts, which exist only once the run has started, and are not counted.
- training pairs: at most one per duel (tribe), per prompt and member (selfplay) or per speech (debate), each at
  most chosen plus rejected at ``training.max_length`` tokens, every epoch; the pairs kept depend on the verdicts.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from math import ceil, comb

from agon.config import MEMBER_METHODS, is_embedded

# Rows a judge writes per duel it judges, by method: both orders, or one verdict.
TWO_ORDERS = {"logprob", "pairwise", "api"}


@dataclass(frozen=True)
class Count:
    """A number of jobs or of model calls: once per run plus one count per iteration."""

    name: str
    once: int
    per_iteration: tuple[int, ...]

    @property
    def total(self) -> int:
        return self.once + sum(self.per_iteration)


@dataclass(frozen=True)
class Work(Count):
    """Model work of one kind, and the most tokens each item generates (an answer, a verdict's text) or, for a
    training pair, trains on (chosen and rejected, prompt included, every epoch); 0 for none."""

    tokens_each: int = 0

    @property
    def max_tokens(self) -> int:
        return self.total * self.tokens_each


@dataclass(frozen=True)
class Estimate:
    protocol: str
    models: int
    iterations: int
    prompts_per_iteration: int
    jobs: tuple[Count, ...]
    work: tuple[Work, ...]

    @property
    def total_jobs(self) -> int:
        return sum(c.total for c in self.jobs)

    def to_dict(self) -> dict:
        def count(c: Count) -> dict:
            extra = {"tokens_each": c.tokens_each, "max_tokens": c.max_tokens} if isinstance(c, Work) else {}
            return {"once": c.once, "per_iteration": list(c.per_iteration), "total": c.total, **extra}

        return {
            "protocol": self.protocol,
            "models": self.models,
            "iterations": self.iterations,
            "prompts_per_iteration": self.prompts_per_iteration,
            "jobs": {c.name: count(c) for c in self.jobs},
            "total_jobs": self.total_jobs,
            "work": {w.name: count(w) for w in self.work},
        }


def _groups(config: dict) -> int:
    """Generation jobs per shard: one per member with hf, one per distinct base model with vllm (engine_groups)."""
    models = config["models"]
    if config["generation"]["backend"] != "vllm":
        return len(models)
    # Embedded members each have their own weights; others share an engine when base, template and code match.
    return len(
        {
            (name if is_embedded(m) else m["base"], m["chat_template"], m["trust_remote_code"])
            for name, m in models.items()
        }
    )


def estimate(config: dict) -> Estimate:
    """The jobs and model work of a validated config (``agon.config.load_config``)."""
    iterations = config["iterations"]
    return Estimate(
        protocol=config["protocol"],
        models=len(config["models"]),
        iterations=iterations,
        prompts_per_iteration=config["task"]["prompts_per_iteration"],
        jobs=tuple(c for c in _jobs(config) if c.total),
        work=tuple(w for w in _work(config) if w.total),
    )


def _jobs(config: dict) -> Iterator[Count]:
    protocol, n = config["protocol"], config["iterations"]
    models = config["models"]
    m = len(models)
    embedded = sum(is_embedded(member) for member in models.values())
    judging = config["judging"]
    entries = judging["judges"]
    member_entries = sum(e in MEMBER_METHODS for e in entries)
    external = sum(e in judging["external"] for e in entries)
    shards, judge_shards = config["generation"]["shards"], judging["shards"]

    def each(jobs: int, first: int | None = None) -> tuple[int, ...]:
        return tuple(first if (i == 0 and first is not None) else jobs for i in range(n))

    yield Count("task_splits", 1, each(0))
    yield Count("tokenizer", int(embedded > 0), each(0))
    yield Count("embedded_member", embedded, each(0))
    yield Count("iteration_prompts", 0, each(1))
    matches_rule = {"tribe": "schedule", "selfplay": "selfplay_matches", "debate": "debate_matches"}[protocol]
    yield Count(matches_rule, 0, each(1))
    if protocol == "debate":
        debate = config["debate"]
        turns = 2 * debate["rounds"] if debate["format"] == "sequential" else debate["rounds"]
        yield Count("debate_turn", 0, each(turns * m))
        yield Count("debate_transcript", 0, each(1))
    else:
        yield Count("duel_prompts", 0, each(m))
        yield Count("generate_shard", 0, each(_groups(config) * shards))
        yield Count("gather_generations", 0, each(m))
        if protocol == "selfplay":
            yield Count("selfplay_previous_policy", 0, each(m, first=0))
    yield Count("judge_by_member", 0, each(member_entries * m * judge_shards))
    yield Count("gather_member_judgments", 0, each(member_entries * m))
    yield Count("judge_by_verifier", 0, each(int("verifier" in entries)))
    yield Count("judge_by_external", 0, each(external * judge_shards))
    yield Count("gather_external_judgments", 0, each(external))
    yield Count("judge_audit", 0, each(1))
    yield Count("judge_agreement", 0, each(int("verifier" in entries and member_entries > 0)))
    if protocol == "selfplay":
        yield Count("selfplay_win_rates", 0, each(1))
        yield Count("selfplay_pairs", 0, each(1))
    else:
        yield Count("rate", 0, each(1))
        yield Count("compare_schemes", 0, each(1))
        if protocol == "debate":
            yield Count("debate_outcomes", 0, each(1))
            yield Count("debate_pairs", 0, each(1))
        else:
            yield Count("pairs", 0, each(1))
        yield Count("rating_trajectory", int(n > 0), each(0))
    yield Count("train", 0, each(m))
    # Iterations 0..N-1 evaluate the models they play with; iter_N evaluates the final ones.
    yield Count("evaluate", m, each(m))
    # The figures of `snakemake --report` (rules/report.smk), built once from the run's files.
    yield Count("report_accuracy", 1, each(0))
    for figure in ("report_win_rates", "report_training", "report_pairs"):
        yield Count(figure, int(n > 0), each(0))
    yield Count("report_ratings", int(n > 0 and protocol != "selfplay"), each(0))
    yield Count("all", 1, each(0))


def _duels(config: dict, i: int) -> int:
    """The duels judged in iteration ``i``: matches, selfplay comparisons, or debates and their branches."""
    prompts, m = config["task"]["prompts_per_iteration"], len(config["models"])
    match config["protocol"]:
        case "tribe":
            return prompts
        case "selfplay":
            k = config["generation"]["samples_per_prompt"]
            return m * prompts * comb(k, 2) + (m * prompts * k if i > 0 else 0)
        case "debate":
            # every debate whole, then a branch per speech alternative: 2 rounds * 2 sides * 2 alternatives
            return prompts * (1 + 4 * config["debate"]["rounds"])
    raise ValueError(f"protocol: unknown protocol {config['protocol']!r}")


def _judges_per_duel(config: dict) -> int:
    """Members outside a duel: two members fight in a tribe or debate duel, one policy in a selfplay comparison."""
    m = len(config["models"])
    return m - 1 if config["protocol"] == "selfplay" else m - 2


def _work(config: dict) -> Iterator[Work]:
    protocol, n = config["protocol"], config["iterations"]
    m, prompts = len(config["models"]), config["task"]["prompts_per_iteration"]
    generation, judging, evaluation = config["generation"], config["judging"], config["evaluation"]
    k = generation["samples_per_prompt"]

    def each(count) -> tuple[int, ...]:
        return tuple(count(i) for i in range(n))

    match protocol:
        case "tribe":
            yield Work("answers", 0, each(lambda i: 2 * prompts * k), generation["max_new_tokens"])
        case "selfplay":
            answers = each(lambda i: m * prompts * k * (2 if i > 0 else 1))
            yield Work("answers", 0, answers, generation["max_new_tokens"])
        case "debate":
            speeches = each(lambda i: prompts * 2 * config["debate"]["rounds"] * 2)
            yield Work("debate speeches", 0, speeches, generation["max_new_tokens"])
    yield Work("duels", 0, each(lambda i: _duels(config, i)))
    for entry in judging["judges"]:
        if entry in MEMBER_METHODS:
            judged = _judges_per_duel(config)
            mode = judging["peer_mode"]
            name = f"{entry} ({mode})" if entry == "peer" else entry
            orders = 2 if entry == "logprob" or mode == "score" else 1
            tokens = judging["max_new_tokens"] if entry == "peer" and mode in ("score", "reference") else 0
        elif entry == "verifier":
            judged, name, orders, tokens = 1, "verifier", 1, 0
        else:
            external = judging["external"][entry]
            method = external["method"]
            judged, name = 1, f"{entry} ({method})"
            orders = 2 if method in TWO_ORDERS else 1
            tokens = _api_max_tokens(entry, external) if method == "api" else 0
        verdicts = each(lambda i, judged=judged, orders=orders: _duels(config, i) * judged * orders)
        yield Work(f"verdicts: {name}", 0, verdicts, tokens)
    evaluated = m * config["task"]["heldout_size"] * (1 + evaluation["samples_per_prompt"])
    yield Work("evaluation answers", evaluated, each(lambda i: evaluated), evaluation["max_new_tokens"])
    match protocol:
        case "tribe":
            trained = m * prompts if config["pairs"]["train_on"] == "all" else 2 * prompts
        case "selfplay":
            trained = m * prompts
        case "debate":
            trained = prompts * 2 * config["debate"]["rounds"]
    training = config["training"]
    yield Work(
        "training pairs (at most)", 0, each(lambda i: trained), ceil(2 * training["max_length"] * training["epochs"])
    )


def _api_max_tokens(name: str, params: dict) -> int:
    """An api judge's longest reply, its default filled in by the judge's own config."""
    from agon.judging.api import ApiConfig  # the openai client loads only for a config that uses it

    return ApiConfig.from_params(name, params).max_tokens
