"""The plan of a run (agon.plan): the one place that says which files and jobs a config implies.

Whether Snakemake derives the same jobs is checked against real dry runs in tests/test_cli.py (estimate and status
read the plan); here: the plan's own rules, worked out by hand on small populations, and that the rules take every
path, log and benchmark from it.
"""

import re
from collections import Counter
from pathlib import Path

import pytest

from agon.config import load_schema, validate_config
from agon.plan import FILES, LOGS, Plan, fill

REPO = Path(__file__).resolve().parent.parent
SCHEMA = load_schema(REPO / "config" / "schema.yaml")
RULES = {path.name: path.read_text() for path in (REPO / "rules").glob("*.smk")}
WILDCARDS = {"run", "i", "model", "group", "shard", "turn", "judge", "juror", "scheme", "split", "figure", "decoding"}


def plan_of(**config) -> Plan:
    models = config.pop("models", {name: {"base": "embedded"} for name in ("ada", "bix", "cyr")})
    # three members leave one peer outside a duel
    config.setdefault("pairs", {"min_judges": 1})
    return Plan.from_config(validate_config({"models": models, **config}, SCHEMA))


def rule_blocks() -> dict[str, str]:
    """Each rule of rules/*.smk and the text of its block."""
    blocks = {}
    for text in RULES.values():
        # a rule at the top level, or inside an if/else block (rules/generate.smk's infer and generate_shard)
        pattern = r"^[ \t]*(?:rule (\w+):|use rule \w+ as (\w+) with:)\n((?:[ \t]+.*\n|\n)*)"
        for match in re.finditer(pattern, text, re.M):
            blocks[match[1] or match[2]] = match[3]
    return blocks


def test_every_pattern_uses_known_wildcards_only():
    for kind, pattern in {**FILES, **LOGS}.items():
        assert set(re.findall(r"\{(\w+)\}", pattern)) <= WILDCARDS, kind


def test_fill_keeps_the_wildcards_it_is_not_given():
    assert (
        fill("iter_{i}/judgments/{judge}/{juror}.parquet", juror="{judge}")
        == "iter_{i}/judgments/{judge}/{judge}.parquet"
    )
    assert Plan.pattern("pairs", model="ada") == "results/{run}/iter_{i}/pairs/ada.parquet"


def test_a_path_is_its_pattern_filled_in():
    plan = plan_of(run="r")
    assert plan.path("judgments", i=2, judge="peer", juror="bix") == "results/r/iter_2/judgments/peer/bix.parquet"
    assert plan.pattern("judgments").format(run="r", i=2, judge="peer", juror="bix") == plan.path(
        "judgments", i=2, judge="peer", juror="bix"
    )


def test_every_rule_has_its_own_log_and_benchmark_from_the_plan_and_no_path_of_its_own():
    blocks = rule_blocks()
    assert set(blocks) - {"all"} == set(LOGS)
    for rule, block in blocks.items():
        if rule == "all":
            continue
        assert f'PLAN.log("{rule}")' in block, rule
        assert f'PLAN.benchmark("{rule}")' in block, rule
    for name, text in RULES.items():
        assert "results/" not in text, name


def test_tribe_jobs_of_three_members_worked_out_by_hand():
    plan = plan_of(iterations=2, judging={"judges": ["peer", "verifier"], "shards": 2})
    per_rule = Counter(job.rule for job in plan.jobs())
    # per iteration: 3 members' duel prompts, generations (1 shard each) and adapters; each member judges in 2
    # shards, gathered once; the verifier once; then evaluation of iterations 0, 1 and 2
    assert per_rule["duel_prompts"] == per_rule["gather_generations"] == per_rule["train"] == 2 * 3
    assert per_rule["judge_by_member"] == 2 * 3 * 2
    assert per_rule["gather_member_judgments"] == 2 * 3
    assert per_rule["judge_by_verifier"] == per_rule["judge_agreement"] == per_rule["rate"] == 2
    assert per_rule["evaluate"] == 3 * 3
    assert per_rule["embedded_member"] == 3 and per_rule["task_splits"] == per_rule["tokenizer"] == 1
    assert plan.figures == ["accuracy", "win_rates", "training", "pairs", "ratings_sparta"]


def test_one_load_runs_one_infer_job_per_member_and_iteration_and_its_readers_wait_for_it():
    plan = plan_of(iterations=2, judging={"judges": ["peer", "verifier"], "peer_mode": "reference", "shards": 2})
    per_rule = Counter(job.rule for job in plan.jobs())
    assert plan.one_load and per_rule["infer"] == 2 * 3 and "generate_shard" not in per_rule
    infer = next(job for job in plan.jobs() if job.rule == "infer")
    # the duel answers are a shard, deleted once gathered; the answers for the judge and evaluate jobs stay
    assert infer.temporary == ("iter_0/generations/shards/ada/0.parquet",)
    assert infer.kept == (
        "iter_0/inference/ada/settings.json",
        "iter_0/inference/ada/heldout_greedy.parquet",
        "iter_0/inference/ada/heldout_sampled.parquet",
        "iter_0/inference/ada/references/0.parquet",
        "iter_0/inference/ada/references/1.parquet",
    )
    assert plan.inference_inputs(1, "bix")["inference_references_1"] == (
        "results/default/iter_1/inference/bix/references/1.parquet"
    )
    # the last evaluation has no infer job, and a judge that does not answer by reference reads nothing from it
    assert plan.inference_inputs(2, "bix") == {} and plan.inference_inputs(0, "bix", "logprob") == {}
    assert plan.reads_answers(0) and plan.reads_answers(0, "peer") and not plan.reads_answers(0, "logprob")


def test_with_generation_shards_the_infer_job_answers_shard_0_and_generate_shard_jobs_the_rest():
    plan = plan_of(iterations=1, generation={"shards": 3})
    assert plan.one_load and list(plan.generate_shard_numbers) == [1, 2]
    shards = sorted(
        (job.wildcards["group"], job.wildcards["shard"]) for job in plan.jobs() if job.rule == "generate_shard"
    )
    assert shards == [(m, s) for m in ("ada", "bix", "cyr") for s in ("1", "2")]
    infer = [job for job in plan.jobs() if job.rule == "infer"]
    assert [job.temporary for job in infer] == [
        (f"iter_0/generations/shards/{m}/0.parquet",) for m in ("ada", "bix", "cyr")
    ]
    assert plan.reads_answers(0) and plan.inference_inputs(0, "ada")
    off = plan_of(iterations=1, generation={"shards": 3, "one_load": False})
    assert list(off.generate_shard_numbers) == [0, 1, 2]


@pytest.mark.parametrize(
    "config",
    [
        {"generation": {"one_load": False}},
        {"protocol": "debate"},
    ],
    ids=["off", "debate"],
)
def test_one_load_is_off_where_asked_or_where_it_would_change_outputs(config):
    plan = plan_of(iterations=1, **config)
    assert not plan.one_load and "infer" not in {job.rule for job in plan.jobs()}
    assert plan.inference_inputs(0, "ada") == {} and not plan.reads_answers(0)


def test_targets_are_every_kept_output_once_and_no_shard():
    plan = plan_of(iterations=1, generation={"shards": 2})
    targets = plan.targets()
    assert len(targets) == len(set(targets))
    assert not [t for t in targets if "/shards/" in t]
    assert "results/default/iter_0/judgments/audit.png" in targets
    assert "results/default/report/ratings_sparta.png" in targets


def test_selfplay_asks_the_previous_policy_from_iteration_one_and_rates_no_scheme():
    plan = plan_of(
        protocol="selfplay", iterations=2, judging={"judges": ["peer"]}, generation={"samples_per_prompt": 2}
    )
    previous = [job.iteration for job in plan.jobs() if job.rule == "selfplay_previous_policy"]
    assert previous == [1, 1, 1]
    assert plan.scheme is None and "rating_trajectory" not in {job.rule for job in plan.jobs()}
    assert plan.figures == ["accuracy", "win_rates", "training", "pairs"]


@pytest.mark.parametrize(("fmt", "speeches"), [("sequential", 4), ("simultaneous", 2)])
def test_debate_speaks_turn_by_turn_and_judges_the_branches_too(fmt, speeches):
    plan = plan_of(protocol="debate", iterations=1, debate={"rounds": 2, "format": fmt})
    turns = [job for job in plan.jobs() if job.rule == "debate_turn"]
    assert plan.turns == speeches and len(turns) == speeches * 3
    gathered = next(job for job in plan.jobs() if job.rule == "gather_member_judgments")
    assert gathered.outputs == ("iter_0/judgments/peer/ada.parquet", "iter_0/judgments/branches/peer/ada.parquet")


def test_external_judges_are_their_own_jurors_and_vllm_groups_members_by_base():
    models = {"a": {"base": "/m/qwen"}, "b": {"base": "/m/qwen"}, "c": {"base": "/m/llama"}}
    judging = {
        "judges": ["verifier", "rm"],
        "signal": "rm",
        "external": {"rm": {"method": "reward_model", "model": "/m/rm"}},
    }
    config = validate_config({"models": models, "judging": judging, "pairs": {"min_judges": 1}}, SCHEMA)
    plan = Plan.from_config(config)
    assert plan.jurors("rm") == ("rm",) and plan.jurors("peer") == ("a", "b", "c")
    assert plan.external_judges == ("rm",) and not plan.agreement
    assert dict(plan.groups) == {"a": ("a",), "b": ("b",), "c": ("c",)}
    # vLLM serves every member on one base from one engine (validation wants vllm installed; the plan does not)
    config["generation"]["backend"] = "vllm"
    plan = Plan.from_config(config)
    assert dict(plan.groups) == {"a": ("a", "b"), "c": ("c",)} and plan.group_of("b") == "a"
