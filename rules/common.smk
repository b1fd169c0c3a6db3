import re
import sys
from pathlib import Path

from snakemake.logging import logger

import agon.bootstrap
from agon.config import (
    ConfigError,
    check_config_files,
    load_schema,
    merge_command_line,
    run_notes,
    validate_config,
)
from agon.evaluation import EvalConfig
from agon.inference import InferenceAnswers, inference_of
from agon.judging import JudgeConfig
from agon.names import MEMBER_METHODS
from agon.plan import SPLITS, Plan
from agon.preflight import run_preflight
from agon.ratings import SCHEMES as RATING_SCHEMES
from agon.seeding import derive_seed
from agon.tasks import evaluator_name

# Validate first: a bad config stops here, before any job runs, one line per problem naming the key and the fix,
# without a traceback (it would only point at this file). Every check that stops a run before its first job raises
# a ConfigError (or a subclass) inside this block. Snakemake's YAML loader keeps the last of a repeated key
# silently, so the config files are read again for those. A map of names (models, judging.external, ...) given with
# --config replaces the config file's, where Snakemake merges it name by name (agon.config.merge_command_line).
SCHEMA = load_schema(Path(workflow.basedir) / "config" / "schema.yaml")
try:
    check_config_files(workflow.configfiles)
    merge_command_line(config, workflow.config_settings.config, SCHEMA)
    validate_config(config, SCHEMA)
    # The preflight checks what the jobs will need (the task's data and its split sizes, local models, the
    # backend) once, in the main process and on dry runs too; the jobs' own parses of this file skip it.
    if workflow.is_main_process:
        logger.info(f"preflight ok: {run_preflight(config, Plan.from_config(config)).summary()}")
except ConfigError as error:
    logger.error(str(error))
    sys.exit(1)
# What the config implies that a user might not expect (a run without training, the pair filter), said once.
if workflow.is_main_process:
    for note in run_notes(config):
        logger.info(note)

# The run's plan: every path pattern, log, benchmark and target the rules use (agon.plan).
PLAN = Plan.from_config(config)
PROTOCOL = PLAN.protocol
MODELS = list(PLAN.models)
JUDGING = config["judging"]
SIGNAL = PLAN.signal
EXTERNAL = JUDGING["external"]
# Every rule's software, the package and its dependencies (--software-deployment-method conda). Each rule names
# it: Snakemake's global `conda:` only serves the Snakefile's own process, and `snakemake --lint` asks every rule.
ENV = "../workflow/envs/agon.yaml"
# How the task's answers are checked (None: a free-form task, whose evaluation records no accuracy).
EVALUATOR = evaluator_name(config["task"])


def names(values):
    """A wildcard constraint matching exactly ``values`` (none: matches nothing)."""
    return "|".join(map(re.escape, values)) or "(?!)"


wildcard_constraints:
    run=re.escape(PLAN.run),
    model=names(MODELS),
    i=r"\d+",
    shard=r"\d+",
    turn=r"\d+",
    group=names(PLAN.groups),
    scheme=names(RATING_SCHEMES),
    judge=names([*MEMBER_METHODS, "verifier", *EXTERNAL]),
    juror=names([*MODELS, "verifier", *EXTERNAL]),


def job_seed(*parts):
    """A job's seed, derived from the run seed and what identifies the job."""
    return derive_seed(config["seed"], *parts)


def gpus():
    """GPU tag of model jobs: SLURM profiles map it to a GPU request; CPU runs ask for none."""
    if config["gpus_per_job"] is not None:
        return config["gpus_per_job"]
    return 1 if config["device"] == "cuda" else 0


def member_architecture(model):
    """Architecture of an embedded member: embedded.model, with the member's own layer count if set."""
    member = config["models"][model]
    layers = member["layers"] or config["embedded"]["model"]["layers"]
    return {**config["embedded"]["model"], "layers": layers}


def member_sft(model):
    """SFT settings of an embedded member: embedded.sft, with the member's own overrides, its target resolved."""
    return agon.bootstrap.member_sft(config, model, EVALUATOR)


def model_spec(model, iteration):
    """The member as the jobs of ``iteration`` use it: iteration i>0 applies the adapter trained in i-1."""
    member = config["models"][model]
    base = PLAN.path("member", model=model) if model in PLAN.embedded else member["base"]
    adapter = PLAN.path("adapter", i=iteration - 1, model=model) if iteration > 0 else member["adapter"]
    return {
        "name": model,
        "base": base,
        "adapter": adapter,
        "chat_template": member["chat_template"],
        "trust_remote_code": member["trust_remote_code"],
    }


def checker_or_api(judge):
    """Whether a judge picked after the run loads no model: the verifier, or an api judge."""
    return judge == "verifier" or EXTERNAL.get(judge, {}).get("method") == "api"


def panel_params(judge, jurors):
    """A judge picked after the run, as agon.evaluation.Panel takes it: ``jurors`` cast the verdicts, each member
    among them judging as at iteration 0."""
    return {
        "judge": judge,
        "jurors": {j: model_spec(j, 0) if j in MODELS else None for j in jurors},
        "judging": {key: JUDGING[key] for key in ("peer_mode", "batch_size", "max_new_tokens")},
        "external": EXTERNAL.get(judge),
        "evaluator": EVALUATOR,
        "device": config["device"],
        "generation": {key: config["generation"][key] for key in ("backend", "vllm")},
        # An api judge's replies are shared with its judge stage's cache: the same request is paid for once.
        "cache_dir": PLAN.path("cache", judge=judge) if judge in EXTERNAL else None,
    }


def previous_policy_spec(model, iteration):
    """Selfplay: the policy of iteration i-1, named apart so that its answers can meet the current policy's."""
    return {**model_spec(model, iteration - 1), "name": f"{model}@previous"}


# --- input functions ----------------------------------------------------------------------------------------


def model_files(wildcards):
    """What a job of one member (wildcard model, or juror for a member judge) waits for."""
    model = getattr(wildcards, "model", None) or wildcards.juror
    return PLAN.member_files(model, int(wildcards.i))


def previous_policy_files(wildcards):
    """Selfplay: what the previous iteration's policy of a model needs."""
    return PLAN.member_files(wildcards.model, int(wildcards.i) - 1)


def group_prompts(wildcards):
    """The duel prompts of each member of a generation job's group, in the group's order."""
    return [PLAN.path("duel_prompts", i=wildcards.i, model=m) for m in PLAN.groups[wildcards.group]]


def group_specs(wildcards):
    """The members of a generation job's group, as that iteration uses them (model_spec)."""
    return [model_spec(m, int(wildcards.i)) for m in PLAN.groups[wildcards.group]]


def group_seeds(stage, wildcards, *parts):
    """Each member's seed for ``stage`` in a generation job: per member, not per group, so a member's answers do not
    depend on which members share its engine."""
    return {m: job_seed(stage, wildcards.i, m, *parts) for m in PLAN.groups[wildcards.group]}


def inference_inputs(wildcards):
    """The infer job's answers that an evaluate job, or a peer judge's job, of one member reads instead of loading
    it (PLAN.reads_answers)."""
    model = getattr(wildcards, "model", None) or wildcards.juror
    return PLAN.inference_inputs(int(wildcards.i), model, getattr(wildcards, "judge", None))


def evaluate_seed(wildcards):
    """An evaluate job's seed: its samples of the held-out prompts."""
    return job_seed("evaluate", wildcards.i, wildcards.model)


def evaluate_reads(answers, wildcards):
    """Whether an evaluate job will read its member's held-out answers from the infer job."""
    cfg = EvalConfig.from_dict(evaluation_settings())
    return answers.serves_heldout(wildcards.model, cfg, evaluate_seed(wildcards), config["generation"]["backend"])


def evaluation_settings():
    """What the evaluate jobs read of the evaluation section: its judge is the evaluate_vs_base job's concern."""
    return {key: value for key, value in config["evaluation"].items() if key != "judge"}


def member_judging():
    """What a member judge's job reads of the judging section."""
    return {key: JUDGING[key] for key in ("peer_mode", "batch_size", "max_new_tokens")}


def judge_reads(answers, wildcards):
    """Whether a member judge's job will read its juror's own answers from the infer job."""
    return answers.serves_references(JudgeConfig.from_dict({**member_judging(), "method": wildcards.judge}))


def reader_gpus(serves):
    """GPU tag of a job that may read its member's answers from the infer job (inference_inputs): none where it
    will (``serves``, given those files, says so when the DAG is built), as only its fallback loads a model."""

    def tag(wildcards):
        files = inference_of(inference_inputs(wildcards))
        return 0 if files and serves(InferenceAnswers(files), wildcards) else gpus()

    return tag


def group_files(wildcards):
    """What a generation job of a group waits for: each member's files, keyed apart by member."""
    return {
        f"{key}_{model}": path
        for model in PLAN.groups[wildcards.group]
        for key, path in PLAN.member_files(model, int(wildcards.i)).items()
    }


def judge_inputs(wildcards):
    """What a judge job reads: the matches with the generations, or the duels debate writes from transcripts."""
    i = int(wildcards.i)
    files = {"matches": PLAN.path("matches", i=i)}
    if PROTOCOL == "debate":
        files["duels"] = PLAN.path("debate_duels", i=i)
    else:
        files["generations"] = PLAN.generation_files(i) + PLAN.previous_generation_files(i)
    return files


def signal_judgments(wildcards):
    """The verdicts of the signal judge (or, for offline re-judging, of wildcard judge) in iteration i."""
    return PLAN.judgment_files(int(wildcards.i), getattr(wildcards, "judge", SIGNAL))


def verdict_patterns(kind, **wildcards):
    """A judge job's verdicts (kind judgments or judgment_shard), and debate's verdicts on the branched transcripts
    beside them."""
    patterns = {"judgments": PLAN.pattern(kind, **wildcards)}
    if PROTOCOL == "debate":
        patterns["branches"] = PLAN.pattern(f"branch_{kind}", **wildcards)
    return patterns


def shard_outputs(**wildcards):
    """A judge shard job's verdicts, deleted once gathered."""
    return {key: temp(path) for key, path in verdict_patterns("judgment_shard", **wildcards).items()}


def every_judge_shard(wildcards):
    """Input function of a gather job: each kind of verdicts of every shard, in shard order."""
    juror = getattr(wildcards, "juror", wildcards.judge)
    return {
        key: expand(path, run=wildcards.run, i=wildcards.i, judge=wildcards.judge, shard=range(PLAN.judge_shards))
        for key, path in verdict_patterns("judgment_shard", juror=juror).items()
    }


def previous_ratings(wildcards):
    """The ratings iteration i starts from: those of iteration i-1 under the same scheme (none for i = 0), from
    the same judge's verdicts."""
    i = int(wildcards.i)
    if i == 0:
        return {}
    kind = "ratings_by_judge" if hasattr(wildcards, "judge") else "ratings"
    judge = getattr(wildcards, "judge", None)
    return {"previous": PLAN.path(kind, i=i - 1, scheme=getattr(wildcards, "scheme", PLAN.scheme), judge=judge)}


def previous_audit(wildcards):
    """The judge audit the weights of iteration i read, when judges are weighed by it (none for i = 0)."""
    i = int(wildcards.i)
    if config["rating"]["judge_weighting"] == "reputation" or i == 0:
        return {}
    return {"audit": PLAN.path("audit", i=i - 1)}


def family_of():
    """Who shares a base model, for the judge audit's same-family preference: members by their base, outside
    judges by their model (embedded members share one family: the same architecture, trained alike)."""
    members = {m: "embedded" if m in PLAN.embedded else config["models"][m]["base"] for m in MODELS}
    outsiders = {name: EXTERNAL[name]["model"] for name in PLAN.external_judges if "model" in EXTERNAL[name]}
    return {**members, **outsiders}
