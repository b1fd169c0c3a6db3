import re
from pathlib import Path

from agon.config import MEMBER_METHODS, check_config_files, is_embedded, load_schema, validate_config
from agon.ratings import SCHEMES as RATING_SCHEMES
from agon.seeding import derive_seed
from agon.tasks import evaluator_name

# Validate first: a bad config stops here, before any job runs, naming the key. Snakemake's YAML loader keeps
# the last of a repeated key silently, so the config files are read again for those.
check_config_files(workflow.configfiles)
validate_config(config, load_schema(Path(workflow.basedir) / "config" / "schema.yaml"))

RUN = config["run"]
PROTOCOL = config["protocol"]
MODELS = list(config["models"])
EMBEDDED_MODELS = [m for m in MODELS if is_embedded(config["models"][m])]
SHARDS = config["generation"]["shards"]
ITERATIONS = config["iterations"]
SCHEME = config["rating"]["scheme"]
JUDGING = config["judging"]
# How the task's answers are checked (None: a free-form task, whose evaluation records no accuracy).
EVALUATOR = evaluator_name(config["task"])
JUDGE_SHARDS = JUDGING["shards"]
MEMBER_JUDGES = [m for m in JUDGING["judges"] if m in MEMBER_METHODS]
# Judges outside the population that run every iteration; any judge of judging.external can run on demand.
EXTERNAL = JUDGING["external"]
EXTERNAL_JUDGES = [j for j in JUDGING["judges"] if j in EXTERNAL]


DEBATE = config["debate"]
# Debate speaks turn by turn: A then B each round (sequential), or both at once each round (simultaneous).
TURNS = 2 * DEBATE["rounds"] if DEBATE["format"] == "sequential" else DEBATE["rounds"]
# Every protocol writes an iteration's comparisons here: duels (tribe) or pairs of one policy's samples (selfplay).
MATCHES_FILE = "results/{run}/iter_{i}/matches.parquet"


def job_seed(*parts):
    """A job's seed, derived from the run seed and what identifies the job."""
    return derive_seed(config["seed"], *parts)


def gpus():
    """GPU tag of model jobs: SLURM profiles map it to a GPU request; CPU runs ask for none."""
    if config["gpus_per_job"] is not None:
        return config["gpus_per_job"]
    return 1 if config["device"] == "cuda" else 0


def member_dir(model):
    return f"results/{RUN}/models/{model}"


def adapter_dir(model, iteration):
    return f"results/{RUN}/iter_{iteration}/adapters/{model}"


def member_architecture(model):
    """Architecture of an embedded member: embedded.model, with the member's own layer count if set."""
    member = config["models"][model]
    layers = member["layers"] or config["embedded"]["model"]["layers"]
    return {**config["embedded"]["model"], "layers": layers}


def member_sft(model):
    """SFT settings of an embedded member: embedded.sft, with the member's own overrides where set."""
    member = config["models"][model]
    sft = dict(config["embedded"]["sft"])
    if member["sft_steps"] is not None:
        sft["steps"] = member["sft_steps"]
    if member["target_accuracy"] is not None:
        sft["target_accuracy"] = member["target_accuracy"]
    return sft


def model_spec(model, iteration):
    """The member as the jobs of ``iteration`` use it: iteration i>0 applies the adapter trained in i-1."""
    member = config["models"][model]
    base = member_dir(model) if is_embedded(member) else member["base"]
    adapter = adapter_dir(model, iteration - 1) if iteration > 0 else member["adapter"]
    return {
        "name": model,
        "base": base,
        "adapter": adapter,
        "chat_template": member["chat_template"],
        "trust_remote_code": member["trust_remote_code"],
    }


def engine_groups():
    """Members one generation job serves, named after the first. With vllm, all members on one base model
    (same weights, chat template and remote-code setting) share an engine, one LoRA request per member; with hf,
    whose generator holds one merged model, each member is its own job."""
    if config["generation"]["backend"] != "vllm":
        return {model: [model] for model in MODELS}
    by_base = {}
    for model in MODELS:
        spec = model_spec(model, 0)
        by_base.setdefault((spec["base"], spec["chat_template"], spec["trust_remote_code"]), []).append(model)
    return {members[0]: members for members in by_base.values()}


GROUPS = engine_groups()
GROUP_OF = {model: group for group, members in GROUPS.items() for model in members}


wildcard_constraints:
    run=re.escape(RUN),
    model="|".join(map(re.escape, MODELS)),
    i=r"\d+",
    shard=r"\d+",
    group="|".join(map(re.escape, GROUPS)),
    scheme="|".join(RATING_SCHEMES),
    turn=r"\d+",
    external="|".join(map(re.escape, EXTERNAL)) or "(?!)",
    judge="|".join(map(re.escape, [*MEMBER_METHODS, "verifier", *EXTERNAL])),


def group_files(wildcards):
    """What a generation job of a group waits for: each member's files, keyed apart by member."""
    return {
        f"{key}_{model}": path
        for model in GROUPS[wildcards.group]
        for key, path in member_files(model, int(wildcards.i)).items()
    }


def previous_policy_spec(model, iteration):
    """Selfplay: the policy of iteration i-1, named apart so that its answers can meet the current policy's."""
    return {**model_spec(model, iteration - 1), "name": f"{model}@previous"}


def previous_generation_files(iteration):
    """Selfplay, iteration i > 0: the previous policies' answers to this iteration's prompts."""
    if PROTOCOL != "selfplay" or int(iteration) == 0:
        return []
    return [f"results/{RUN}/iter_{iteration}/generations/previous/{m}.parquet" for m in MODELS]


def member_files(model, iteration):
    """Files a job using ``model`` as iteration ``iteration`` sees it must wait for: the built member and the
    previous iteration's adapter."""
    files = {}
    if model in EMBEDDED_MODELS:
        files["member"] = member_dir(model)
    if iteration > 0:
        files["adapter"] = adapter_dir(model, iteration - 1)
    return files


def model_files(wildcards):
    return member_files(wildcards.model, int(wildcards.i))


def previous_policy_files(wildcards):
    """Selfplay: what the previous iteration's policy of a model needs."""
    return member_files(wildcards.model, int(wildcards.i) - 1)


def judges_of(entry):
    """Judge names of an entry of judging.judges: the members for peer and logprob, else the judge itself."""
    return MODELS if entry in MEMBER_METHODS else [entry]


def judgment_files(iteration, entry):
    return [f"results/{RUN}/iter_{iteration}/judgments/{entry}/{judge}.parquet" for judge in judges_of(entry)]


def turn_files(iteration, turns):
    """Every debater's speeches at the given turns of a debate iteration."""
    return [f"results/{RUN}/iter_{iteration}/debate/turn_{t}/{m}.parquet" for t in turns for m in MODELS]


def judge_inputs(wildcards):
    """What a judge job reads: the matches with the generations, or the duels debate writes from transcripts."""
    files = {"matches": f"results/{RUN}/iter_{wildcards.i}/matches.parquet"}
    if PROTOCOL == "debate":
        files["duels"] = f"results/{RUN}/iter_{wildcards.i}/debate/duels.parquet"
    else:
        files["generations"] = generation_files(wildcards.i) + previous_generation_files(wildcards.i)
    return files


def branch_output(judge):
    """Debate's judges also judge branched transcripts; those verdicts go beside the matches' own."""
    if PROTOCOL != "debate":
        return {}
    return {"branches": f"results/{{run}}/iter_{{i}}/judgments/branches/{judge}.parquet"}


def judge_files(judge):
    """A judge's verdicts under judgments/, and debate's verdicts on the branched transcripts beside them."""
    return {"judgments": f"results/{{run}}/iter_{{i}}/judgments/{judge}.parquet", **branch_output(judge)}


def judge_shard_files(folder, judge):
    """The temporary files of one shard of ``folder``/``judge``, gathered into judge_files(f"{folder}/{judge}")."""
    return {key: temp(path) for key, path in judge_files(f"{folder}/shards/{judge}/{{shard}}").items()}


def every_judge_shard(folder, judge):
    """Input function of a gather job: each kind of judge_shard_files of every shard, in shard order."""
    patterns = judge_files(f"{folder}/shards/{judge}/{{shard}}")
    return lambda wc: {key: expand(path, shard=range(JUDGE_SHARDS), **wc) for key, path in patterns.items()}


def all_judgment_files(iteration):
    """The judgments of every judge that runs each iteration (judging.judges)."""
    return [f for entry in JUDGING["judges"] for f in judgment_files(iteration, entry)]


def family_of():
    """Who shares a base model, for the judge audit's same-family preference: members by their base, outside
    judges by their model (embedded members share one family: the same architecture, trained alike)."""
    members = {m: "embedded" if m in EMBEDDED_MODELS else config["models"][m]["base"] for m in MODELS}
    outsiders = {name: EXTERNAL[name]["model"] for name in EXTERNAL_JUDGES if "model" in EXTERNAL[name]}
    return {**members, **outsiders}


def generation_files(iteration):
    return [f"results/{RUN}/iter_{iteration}/generations/{model}.parquet" for model in MODELS]


def previous_ratings(wildcards, folder=""):
    """The ratings iteration i starts from: those of iteration i-1 under the same scheme (none for i = 0);
    ``folder`` is "by_<judge>/" for ratings from another judge's verdicts."""
    iteration = int(wildcards.i)
    scheme = getattr(wildcards, "scheme", SCHEME)
    if iteration == 0:
        return {}
    return {"previous": f"results/{RUN}/iter_{iteration - 1}/ratings/{folder}{scheme}.json"}


def previous_audit(wildcards):
    """The judge audit the weights of iteration i read, when judges are weighed by it (none for i = 0)."""
    iteration = int(wildcards.i)
    if config["rating"]["judge_weighting"] == "reputation" or iteration == 0:
        return {}
    return {"audit": f"results/{RUN}/iter_{iteration - 1}/judgments/audit.json"}


def all_outputs():
    """What `snakemake` builds by default: every iteration's files and the evaluation of iterations 0..N."""
    ratings = {
        "tribe": [f"ratings/{SCHEME}.json", "ratings/comparison.json"],
        "selfplay": ["ratings/selfplay.json"],
        "debate": [f"ratings/{SCHEME}.json", "ratings/comparison.json", "ratings/debate.json", "transcripts.parquet"],
    }[PROTOCOL]
    per_iteration = [
        f"results/{RUN}/iter_{i}/{path}"
        for i in range(ITERATIONS)
        for path in ["matches.parquet", *ratings, "pairs/stats.json", *[f"adapters/{m}" for m in MODELS]]
    ]
    judgments = [f for i in range(ITERATIONS) for f in all_judgment_files(i)]
    judgments += [f"results/{RUN}/iter_{i}/judgments/audit.json" for i in range(ITERATIONS)]
    if "verifier" in JUDGING["judges"] and MEMBER_JUDGES:
        judgments += [f"results/{RUN}/iter_{i}/judgments/agreement.json" for i in range(ITERATIONS)]
    evaluations = [f"results/{RUN}/iter_{i}/eval/{m}.json" for i in range(ITERATIONS + 1) for m in MODELS]
    trajectory = [f"results/{RUN}/ratings/{SCHEME}.tsv"] if ITERATIONS and PROTOCOL != "selfplay" else []
    # REPORT_FILES: the figures of `snakemake --report` (rules/report.smk)
    return per_iteration + judgments + evaluations + trajectory + REPORT_FILES
