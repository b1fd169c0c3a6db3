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
- tournament (``tournament.enabled``): every two checkpoints (members at iterations 0..N) on each of its prompts,
  ``prompts * C(M * (N + 1), 2)`` duels, judged by every juror outside both checkpoints' members, at most.
- model loads: the jobs that load a member's checkpoint for inference (generate or infer, judge, evaluate, the
  previous policy, debate turns), each one model read and, with vLLM, one engine start for all members of its group;
  with ``generation.one_load`` the judge (peer, reference) and evaluate jobs of an iteration that generates read the
  infer job's answers and load nothing. Training and the bootstrap are not counted.
- training pairs: at most one per duel (tribe), per prompt and member (selfplay) or per speech (debate), each at
  most chosen plus rejected at ``training.max_length`` tokens, every epoch; the pairs kept depend on the verdicts.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from math import ceil, comb

from agon.names import MEMBER_METHODS
from agon.plan import LOGS, Plan

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
    model_loads: Count

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
            "model_loads": count(self.model_loads),
        }


def estimate(config: dict) -> Estimate:
    """The jobs and model work of a validated config (``agon.config.load_config``)."""
    plan = Plan.from_config(config)
    return Estimate(
        protocol=plan.protocol,
        models=len(plan.models),
        iterations=plan.iterations,
        prompts_per_iteration=config["task"]["prompts_per_iteration"],
        jobs=_jobs(plan),
        work=tuple(w for w in (*_work(config), *_tournament_work(config, plan)) if w.total),
        model_loads=_model_loads(plan),
    )


def _jobs(plan: Plan) -> tuple[Count, ...]:
    """The plan's jobs per rule, in the order of a run: once (the run's own and the final evaluation's) and per
    iteration; with the default target's own job, ``all``."""
    once: Counter[str] = Counter()
    per_iteration: dict[str, list[int]] = {}
    for job in plan.jobs():
        counts = per_iteration.setdefault(job.rule, [0] * plan.iterations)
        if job.iteration is None or job.iteration >= plan.iterations:
            once[job.rule] += 1
        else:
            counts[job.iteration] += 1
    rules = sorted(per_iteration, key=list(LOGS).index)
    return (
        *(Count(rule, once[rule], tuple(per_iteration[rule])) for rule in rules),
        Count("all", 1, (0,) * plan.iterations),
    )


# Rules whose every job loads its members' checkpoints for inference.
_LOADING_RULES = frozenset({"generate_shard", "infer", "selfplay_previous_policy", "debate_turn"})


def _model_loads(plan: Plan) -> Count:
    """Inference loads of the members' checkpoints (engine starts with vLLM): once (the last evaluation) and per
    iteration."""
    once, per_iteration = 0, [0] * plan.iterations
    for job in plan.jobs():
        i = job.iteration
        match job.rule:
            case "evaluate":
                loads = not plan.reads_answers(i)
            case "judge_by_member":
                loads = not plan.reads_answers(i, job.wildcards["judge"])
            case rule:
                loads = rule in _LOADING_RULES
        if loads and i < plan.iterations:
            per_iteration[i] += 1
        elif loads:
            once += 1
    return Count("model loads", once, tuple(per_iteration))


def duels(config: dict, i: int) -> int:
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


def jurors_per_duel(config: dict) -> int:
    """Members outside a duel: two members fight in a tribe or debate duel, one policy in a selfplay comparison."""
    m = len(config["models"])
    return m - 1 if config["protocol"] == "selfplay" else m - 2


@dataclass(frozen=True)
class JudgeShape:
    """How one judge of judging.judges judges a duel: its name in the estimate, the jurors that give a verdict,
    the verdicts each gives (both orders or one) and the most tokens each verdict generates (0: none)."""

    name: str
    jurors: int
    orders: int
    tokens: int


def judge_shape(config: dict, judge: str) -> JudgeShape:
    judging = config["judging"]
    if judge in MEMBER_METHODS:
        mode = judging["peer_mode"]
        name = f"{judge} ({mode})" if judge == "peer" else judge
        orders = 2 if judge == "logprob" or mode == "score" else 1
        tokens = judging["max_new_tokens"] if judge == "peer" and mode in ("score", "reference") else 0
        return JudgeShape(name, jurors_per_duel(config), orders, tokens)
    if judge == "verifier":
        return JudgeShape("verifier", 1, 1, 0)
    external = judging["external"][judge]
    method = external["method"]
    tokens = _api_max_tokens(judge, external) if method == "api" else 0
    return JudgeShape(f"{judge} ({method})", 1, 2 if method in TWO_ORDERS else 1, tokens)


def trained_pairs(config: dict) -> int:
    """Training pairs of one iteration at most, over all members: one per duel (tribe), per prompt and member
    (selfplay) or per speech (debate)."""
    m, prompts = len(config["models"]), config["task"]["prompts_per_iteration"]
    match config["protocol"]:
        case "tribe":
            return m * prompts if config["pairs"]["train_on"] == "all" else 2 * prompts
        case "selfplay":
            return m * prompts
        case "debate":
            return prompts * 2 * config["debate"]["rounds"]
    raise ValueError(f"protocol: unknown protocol {config['protocol']!r}")


def pair_tokens(config: dict) -> int:
    """The most tokens one training pair trains on: chosen and rejected at training.max_length, every epoch."""
    training = config["training"]
    return ceil(2 * training["max_length"] * training["epochs"])


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
    yield Work("duels", 0, each(lambda i: duels(config, i)))
    for judge in judging["judges"]:
        shape = judge_shape(config, judge)
        verdicts = each(lambda i, shape=shape: duels(config, i) * shape.jurors * shape.orders)
        yield Work(f"verdicts: {shape.name}", 0, verdicts, shape.tokens)
    evaluated = m * config["task"]["heldout_size"] * (1 + evaluation["samples_per_prompt"])
    yield Work("evaluation answers", evaluated, each(lambda i: evaluated), evaluation["max_new_tokens"])
    trained = trained_pairs(config)
    yield Work("training pairs (at most)", 0, each(lambda i: trained), pair_tokens(config))


def _tournament_work(config: dict, plan: Plan) -> Iterator[Work]:
    """The tournament's duels (every two checkpoints on each of its prompts) and its verdicts at most: every juror
    outside a duel's two members, in as many orders as its method judges; duels of two equal answers take none."""
    if not plan.tournament:
        return
    zeros = (0,) * plan.iterations
    yield Work("tournament duels", plan.tournament_duels, zeros)
    shape = judge_shape(config, plan.tournament_judge)
    yield Work(f"tournament verdicts: {shape.name}", plan.tournament_seats() * shape.orders, zeros, shape.tokens)


def _api_max_tokens(name: str, params: dict) -> int:
    """An api judge's longest reply, its default filled in by the judge's own config."""
    from agon.judging.api import ApiConfig  # the openai client loads only for a config that uses it

    return ApiConfig.from_params(name, params).max_tokens
