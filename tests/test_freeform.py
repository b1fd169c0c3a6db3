"""Free-form tasks end to end: data without checkable answers runs tribe and selfplay with peer judges, embedded
members train by steps, and every model's win rate against its iteration-0 self, with a Wilson interval, is what
its evaluation measures (agon.evaluation, agon.bootstrap.member_sft, agon.config_checks.task_problems).
"""

import json
import math
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agon.bootstrap import DEFAULT_POPULATION_TARGETS, member_sft
from agon.config import ConfigError, validate_config
from agon.contracts import GENERATIONS, JUDGMENTS, PROMPTS, WIN_RATE_VS_BASE, read_document, read_table, write_table
from agon.evaluation import EvalConfig, Panel, base_name, evaluate_model, win_rate, write_win_rates_vs_base
from agon.models import ModelSpec
from agon.plan import Plan
from agon.report import plot_win_rate_vs_base

from . import task_fixtures as fx
from .testing_utils import REPO, job_stats, snakemake

SCHEMA = fx.SCHEMA
ANSWERS = {"fruit": "apple", "colour": "red", "animal": "cat", "tool": "saw", "drink": "tea", "tree": "oak"}


def write_free_form(path: Path, n: int = 40) -> None:
    """``n`` instructions with free-form answers, one JSON record a line: nothing can check them."""
    kinds = list(ANSWERS)
    records = [
        {"id": f"q{i}", "instruction": f"Name a {kinds[i % 6]}, kind {i}.", "response": ANSWERS[kinds[i % 6]]}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def free_form_config(source: Path, protocol: str, mode: str) -> dict:
    """A micro run on the free-form file: tiny members, one iteration, every size as small as it goes. The members
    are named as Hub checkpoints are (dots and all), so these runs also carry such names through every stage."""
    members = {"qwen2.5-0.5b": {"base": "embedded"}, "llama-3.2-1b": {"base": "embedded", "sft_steps": 25}}
    if protocol == "tribe":
        members["smol.v2"] = {"base": "embedded", "layers": 1}
    return {
        "run": f"free_{protocol}",
        "seed": 0,
        "iterations": 1,
        "protocol": protocol,
        "models": members,
        # No target anywhere: a free-form task trains its members all their steps.
        "embedded": {
            "vocab_size": 96,
            "model": {"hidden_size": 32, "intermediate_size": 64, "layers": 2, "heads": 2, "max_positions": 48},
            "sft": {"steps": 40, "batch_size": 16, "learning_rate": 5.0e-3, "warmup_steps": 2},
        },
        "task": {
            "name": "custom",
            "source": str(source),
            "custom": {"prompt": "instruction", "reference": "response", "id": "id"},
            "heldout_size": 8,
            "preference_size": 8,
            "prompts_per_iteration": 8,
        },
        "generation": {"samples_per_prompt": 2, "batch_size": 16},
        "evaluation": {"samples_per_prompt": 1, "batch_size": 16},
        "judging": {"judges": ["peer"], "signal": "peer", "peer_mode": mode},
        "pairs": {"margin": 0.0},
        # A large step, so that one iteration's few pairs move the members' greedy answers off their base's.
        "training": {"batch_size": 4, "lora_r": 4, "lora_alpha": 8, "max_length": 48, "learning_rate": 0.02,
                     "epochs": 3.0},
    }  # fmt: skip


# --- the win rate and its interval, by hand -------------------------------------------------------------------


def test_win_rate_counts_a_tie_as_half_and_brackets_it_with_the_wilson_interval():
    # 6 wins, 2 ties, 2 losses, 1 duel without a verdict: 7 of 10 decided duels won, p = 0.7.
    # z = 1.959964 (95%), z^2 = 3.841459; centre = (0.7 + z^2 / 20) / (1 + z^2 / 10) = 0.892073 / 1.384146 = 0.644493;
    # half width = z / (1 + z^2 / 10) * sqrt(0.7 * 0.3 / 10 + z^2 / 400) = 1.415993 * 0.174940 = 0.247716.
    d = [0.5, 1.0, 0.2, 0.7, 0.1, 0.9, 0.0, 0.0, -0.3, -1.0, math.nan]
    rate = win_rate(d)
    assert {k: rate[k] for k in ("wins", "ties", "losses", "undecided")} == {
        "wins": 6,
        "ties": 2,
        "losses": 2,
        "undecided": 1,
    }
    assert rate["win_rate"] == pytest.approx(0.7, abs=1e-12)
    assert rate["ci_low"] == pytest.approx(0.644493 - 0.247716, abs=2e-6)
    assert rate["ci_high"] == pytest.approx(0.644493 + 0.247716, abs=2e-6)
    assert rate["ci"] == 0.95


def test_win_rate_without_a_decided_duel_has_no_rate_and_no_interval():
    rate = win_rate([math.nan, math.nan])
    assert (rate["win_rate"], rate["ci_low"], rate["ci_high"], rate["undecided"]) == (None, None, None, 2)
    # all ties: 0.5, with an interval that stays inside [0, 1] (Wilson's, not p -/+ z se, which would be 0 wide)
    ties = win_rate([0.0] * 4)
    assert ties["win_rate"] == 0.5 and 0.0 < ties["ci_low"] < 0.5 < ties["ci_high"] < 1.0


# --- the win rate against the base, from files, with real judges ---------------------------------------------------


def heldout_and_answers(root: Path, answers: dict[str, list[str]]) -> tuple[Path, dict[str, Path]]:
    """Held-out arithmetic prompts p0..p3 (references 2, 4, 6, 8) and, per key, a generations table of answers."""
    heldout = pd.DataFrame(
        {
            "prompt_id": [f"p{k}" for k in range(4)],
            "prompt": [f"What is {k}+{k + 2}?" for k in range(4)],
            "reference": [str(2 * k + 2) for k in range(4)],
            "split": "heldout",
        }
    )
    write_table(heldout, root / "heldout.parquet", PROMPTS)
    paths = {}
    for key, texts in answers.items():
        model = key.split("@")[0]
        frame = pd.DataFrame(
            {
                "prompt_id": heldout["prompt_id"],
                "prompt": heldout["prompt"],
                "model": model,
                "sample": 0,
                "response": texts,
                "n_tokens": 1,
                "finish_reason": "stop",
                "seed": 0,
                "backend": "hf",
                "adapter": "",
            }
        )
        paths[key] = root / f"{key.replace('@', '_')}.parquet"
        write_table(frame, paths[key], GENERATIONS)
    return root / "heldout.parquet", paths


def test_win_rates_against_the_base_by_the_verifier_worked_out_by_hand(tmp_path):
    # references 2, 4, 6, 8. ada: p0 right vs wrong (win), p1 same answer (tie, unjudged), p2 both wrong (tie),
    # p3 wrong vs right (loss): 1.5 of 4. bix: right where its base was wrong, on every prompt: 4 of 4.
    heldout, paths = heldout_and_answers(
        tmp_path,
        {
            "ada": ["2", "4", "7", "9"],
            "ada@0": ["3", "4", "5", "8"],
            "bix": ["2", "4", "6", "8"],
            "bix@0": ["0", "0", "0", "0"],
        },
    )
    outs = {m: tmp_path / f"{m}.json" for m in ("ada", "bix")}
    documents = write_win_rates_vs_base(
        heldout,
        {"ada": paths["ada"], "bix": paths["bix"]},
        {"ada": paths["ada@0"], "bix": paths["bix@0"]},
        outs,
        tmp_path / "judgments.parquet",
        iteration=2,
        panel=Panel("verifier", {"verifier": None}, {}, None, "integer", "cpu", {"backend": "hf", "vllm": {}}),
    )
    ada = read_document(outs["ada"], WIN_RATE_VS_BASE)
    assert ada == documents["ada"]
    assert (ada["wins"], ada["ties"], ada["losses"], ada["undecided"]) == (1, 2, 1, 0)
    assert (ada["identical"], ada["judged"], ada["prompts"]) == (1, 3, 4)
    assert ada["win_rate"] == 0.5 and ada["ci_low"] < 0.5 < ada["ci_high"]
    assert (ada["iteration"], ada["judge"], ada["jurors"]) == (2, "verifier", ["verifier"])
    bix = documents["bix"]
    assert (bix["wins"], bix["win_rate"]) == (4, 1.0) and bix["ci_high"] == pytest.approx(1.0)
    # every verdict is kept, naming its duel: the model's answer (A) against its iteration-0 self's (B)
    judgments = read_table(tmp_path / "judgments.parquet", JUDGMENTS)
    assert sorted(judgments["match_id"]) == ["ada/p0", "ada/p2", "ada/p3", "bix/p0", "bix/p1", "bix/p2", "bix/p3"]
    assert base_name("ada") == "ada@iter_0"


def test_the_evaluation_keeps_its_greedy_answers_where_asked_and_its_metrics_stay_the_same(
    tmp_path, micro_splits, tiny_member
):
    def evaluate(name: str, answers: Path | None) -> bytes:
        evaluate_model(
            micro_splits["heldout"],
            tmp_path / name,
            ModelSpec(name="m", base=str(tiny_member)),
            EvalConfig(samples_per_prompt=2, max_new_tokens=6, batch_size=16),
            evaluator="integer",
            iteration=0,
            backend="hf",
            device="cpu",
            seed=3,
            answers_path=answers,
        )
        return (tmp_path / name).read_bytes()

    assert evaluate("plain.json", None) == evaluate("kept.json", tmp_path / "answers.parquet")
    answers = read_table(tmp_path / "answers.parquet", GENERATIONS)
    heldout = read_table(micro_splits["heldout"], PROMPTS)
    assert answers["prompt_id"].tolist() == heldout["prompt_id"].tolist()
    assert (answers["model"] == "m").all() and (answers["sample"] == 0).all() and (answers["seed"] == 3).all()
    greedy = json.loads((tmp_path / "kept.json").read_text())["greedy_accuracy"]
    assert greedy == (answers["response"] == heldout["reference"]).mean()


def test_member_jurors_judge_every_model_but_their_own_and_score_replies_that_do_not_parse_decide_nothing(
    tmp_path, tiny_member
):
    heldout, paths = heldout_and_answers(
        tmp_path,
        {"ada": ["2", "5", "6", "1"], "ada@0": ["3", "4", "6", "1"], "bix": list("2468"), "bix@0": list("2468")},
    )
    spec = {"name": "?", "base": str(tiny_member)}
    jurors = {"ada": {**spec, "name": "ada"}, "bix": {**spec, "name": "bix"}}
    inputs = ({"ada": paths["ada"], "bix": paths["bix"]}, {"ada": paths["ada@0"], "bix": paths["bix@0"]})

    def judged_by_peers(mode: str) -> dict:
        """Every model's win rate against its base, judged by the other member in ``mode`` (written under it)."""
        return write_win_rates_vs_base(
            heldout,
            *inputs,
            {m: tmp_path / f"{mode}_{m}.json" for m in ("ada", "bix")},
            tmp_path / f"{mode}.parquet",
            iteration=1,
            panel=Panel(
                "peer",
                jurors,
                {"peer_mode": mode, "batch_size": 8, "max_new_tokens": 8},
                None,
                None,
                "cpu",
                {"backend": "hf", "vllm": {}},
            ),
        )

    by_likelihood = judged_by_peers("likelihood")
    ada = by_likelihood["ada"]
    # ada's two changed answers are judged by bix alone; likelihood always decides
    assert ada["jurors"] == ["bix"] and (ada["judged"], ada["identical"], ada["undecided"]) == (2, 2, 0)
    assert ada["wins"] + ada["losses"] + ada["ties"] == 4 and ada["ci_low"] <= ada["win_rate"] <= ada["ci_high"]
    judgments = read_table(tmp_path / "likelihood.parquet", JUDGMENTS)
    assert set(judgments["judge"]) == {"bix"} and set(judgments["match_id"]) == {"ada/p0", "ada/p1"}
    # bix answers as its base everywhere: four ties, nobody judged
    assert (by_likelihood["bix"]["ties"], by_likelihood["bix"]["judged"]) == (4, 0)

    by_score = judged_by_peers("score")
    # the tiny member writes no "A: x B: y": its verdicts are invalid, the judged duels undecided, never guessed
    scored = by_score["ada"]
    assert (scored["undecided"], scored["ties"], scored["wins"], scored["losses"]) == (2, 2, 0, 0)
    assert scored["win_rate"] == 0.5  # the two identical answers
    assert not read_table(tmp_path / "score.parquet", JUDGMENTS)["valid"].any()


def test_the_report_draws_the_win_rates_against_the_base_and_says_when_none_was_decided(tmp_path):
    documents = [
        {"model": m, "iteration": i, "judge": "peer", "ci": 0.95, **win_rate([0.4] * (i + k) + [0.0, -0.2])}
        for i in (1, 2)
        for k, m in enumerate(("ada", "bix"))
    ]
    plot_win_rate_vs_base(documents, tmp_path / "a.png")
    plot_win_rate_vs_base(documents[::-1], tmp_path / "b.png")
    drawn = (tmp_path / "a.png").read_bytes()
    assert drawn.startswith(b"\x89PNG") and drawn == (tmp_path / "b.png").read_bytes()
    undecided = [{**documents[0], **win_rate([math.nan])}]
    plot_win_rate_vs_base(undecided, tmp_path / "none.png")
    assert (tmp_path / "none.png").read_bytes().startswith(b"\x89PNG")


# --- config: targets, the evaluation judge --------------------------------------------------------------------


def config_of(task: dict | None = None, **rest) -> dict:
    sizes = {"heldout_size": 5, "preference_size": 10, "prompts_per_iteration": 5}
    return {"iterations": 1, "task": {**sizes, **(task or {})}, **rest}


@pytest.fixture(scope="module")
def alpaca(tmp_path_factory) -> dict:
    source = tmp_path_factory.mktemp("alpaca") / "alpaca_data.json"
    fx.write_alpaca(source)
    return {"name": "alpaca", "source": str(source)}


PEERS_BY_SCORE = {"judging": {"judges": ["peer"], "signal": "peer", "peer_mode": "score"}}


def test_the_default_population_on_a_free_form_task_trains_by_steps_and_is_judged_against_its_base(alpaca):
    # the targets the default population sets are these: defaults, not choices
    default = SCHEMA["properties"]["models"]["default"]
    assert {name: member["target_accuracy"] for name, member in default.items()} == DEFAULT_POPULATION_TARGETS
    config = validate_config(config_of(alpaca, **PEERS_BY_SCORE), SCHEMA)
    assert {m: member_sft(config, m, None)["target_accuracy"] for m in config["models"]} == dict.fromkeys(
        DEFAULT_POPULATION_TARGETS
    )
    plan = Plan.from_config(config)
    assert (plan.evaluation_judge, plan.vs_base, plan.vs_base_jurors()) == ("peer", True, plan.models)
    assert "win_rate_vs_base" in plan.figures
    assert Counter(job.rule for job in plan.jobs())["evaluate_vs_base"] == 1


def test_a_member_target_left_out_inherits_and_null_trains_all_steps():
    config = validate_config(
        {
            "models": {
                "ada": {"base": "embedded"},
                "bix": {"base": "embedded", "target_accuracy": None},
                "cyr": {"base": "embedded", "target_accuracy": 0.8, "sft_steps": 7},
            },
            "embedded": {"sft": {"target_accuracy": 0.5}},
        },
        SCHEMA,
    )
    targets = {m: member_sft(config, m, "integer")["target_accuracy"] for m in config["models"]}
    assert targets == {"ada": 0.5, "bix": None, "cyr": 0.8}
    assert member_sft(config, "cyr", "integer")["steps"] == 7
    # no target anywhere: 0.6 on a task that checks answers, none on one that cannot
    plain = validate_config({"models": {m: {"base": "embedded"} for m in ("ada", "bix", "cyr")}}, SCHEMA)
    assert member_sft(plain, "ada", "integer")["target_accuracy"] == 0.6
    assert member_sft(plain, "ada", None)["target_accuracy"] is None


def test_an_sft_target_without_an_evaluator_stops_the_member_job_before_any_model(tmp_path, micro_splits):
    from agon.bootstrap.model import TinyModelConfig
    from agon.bootstrap.sft import MemberSFTConfig, train_member

    with pytest.raises(ValueError, match=r"target_accuracy=0.6 needs the task's evaluator .* set task.evaluator"):
        train_member(
            micro_splits["train"], tmp_path / "no_tokenizer", tmp_path / "member", TinyModelConfig(),
            MemberSFTConfig(target_accuracy=0.6), seed=0, evaluator=None,
        )  # fmt: skip
    assert not (tmp_path / "member").exists()


def test_a_target_written_for_a_free_form_task_is_refused_naming_its_key(alpaca):
    members = {"ada": {"base": "embedded", "target_accuracy": 0.5}, "bix": {"base": "embedded"}}
    members["cyr"] = {"base": "embedded", "target_accuracy": None}
    with pytest.raises(ConfigError) as err:
        validate_config(
            config_of(alpaca, models=members, embedded={"sft": {"target_accuracy": 0.7}}, **PEERS_BY_SCORE), SCHEMA
        )
    lines = str(err.value).splitlines()[1:]
    refused = (
        "is a validation accuracy to stop SFT at, but the alpaca task has no evaluator to measure it; "
        "remove the key (SFT then runs all its steps) or set task.evaluator"
    )
    assert lines == [
        f"  config key 'models.ada.target_accuracy': 0.5 {refused}",
        f"  config key 'embedded.sft.target_accuracy': 0.7 {refused}",
    ]
    # the member's null and the members that inherit nothing pass
    validate_config(config_of(alpaca, models={**members, "ada": {"base": "embedded"}}, **PEERS_BY_SCORE), SCHEMA)


@pytest.mark.parametrize(
    ("evaluation", "task", "models", "message"),
    [
        (
            {"judge": "peeer"},
            None,
            None,
            "config key 'evaluation.judge': 'peeer' is none of auto, null, peer, logprob, verifier or a judge of "
            "judging.external []; did you mean 'peer'?",
        ),
        (
            {"judge": "verifier"},
            "alpaca",
            None,
            "config key 'task.evaluator': evaluation.judge: verifier checks answers, but the alpaca task has no "
            "evaluator; set task.evaluator (exact, normalized, math, choice) or drop it",
        ),
        (
            {"judge": "logprob"},
            None,
            {"ada": {"base": "embedded"}},
            "config key 'evaluation.judge': logprob judges by the other members, and the population is ['ada']; "
            "name the verifier, a judge of judging.external, or null",
        ),
    ],
    ids=["typo", "verifier_without_evaluator", "member_judge_of_one_member"],
)
def test_an_evaluation_judge_the_config_cannot_give_is_refused(alpaca, evaluation, task, models, message):
    rest = {"protocol": "selfplay", "generation": {"samples_per_prompt": 2}, **PEERS_BY_SCORE}
    if models is not None:
        rest["models"] = models
        rest["judging"] = {"judges": ["verifier"], "signal": "verifier"}
    with pytest.raises(ConfigError) as err:
        validate_config(config_of(alpaca if task else None, evaluation=evaluation, **rest), SCHEMA)
    assert f"  {message}" in str(err.value).splitlines()


def test_a_task_that_checks_answers_has_no_win_rate_against_the_base_unless_asked():
    default = Plan.from_config(validate_config({}, SCHEMA))
    assert (default.evaluation_judge, default.vs_base, default.vs_base_jurors()) == (None, False, ())
    assert not any(job.rule == "evaluate_vs_base" for job in default.jobs())
    assert all(len(job.outputs) == 1 for job in default.jobs() if job.rule == "evaluate")
    asked = Plan.from_config(validate_config({"evaluation": {"judge": "verifier"}}, SCHEMA))
    assert asked.vs_base_jurors() == ("verifier",)
    assert [job.iteration for job in asked.jobs() if job.rule == "evaluate_vs_base"] == [1, 2, 3]


def test_the_free_form_configs_of_the_task_docs_are_valid_and_judge_against_the_base(tmp_path):
    blocks = [yaml.safe_load(b.split("```", 1)[0]) for b in (REPO / "docs/tasks.md").read_text().split("```yaml\n")[1:]]
    alpaca = next(b for b in blocks if b.get("task", {}).get("name") == "alpaca" and "run" in b)
    custom = next(b for b in blocks if b.get("run") == "my_instructions")
    write_free_form(tmp_path / "my_instructions.jsonl", 600)
    custom["task"]["source"] = str(tmp_path / "my_instructions.jsonl")
    for snippet in (alpaca, custom):
        config = validate_config(snippet, SCHEMA)
        plan = Plan.from_config(config)
        assert plan.evaluation_judge == "peer" and plan.vs_base
        assert all(member_sft(config, m, None)["target_accuracy"] is None for m in plan.embedded)


# --- real runs --------------------------------------------------------------------------------------------------


def test_a_free_form_tribe_plans_the_win_rates_against_the_base(tmp_path):
    write_free_form(tmp_path / "free.jsonl")
    config = free_form_config(tmp_path / "free.jsonl", "tribe", "likelihood")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake("--dry-run", "--configfile", tmp_path / "config.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    plan = Plan.from_config(validate_config(config, SCHEMA))
    planned = job_stats(done.stdout)
    assert planned == {**Counter(job.rule for job in plan.jobs()), "all": 1}
    assert planned["evaluate_vs_base"] == 1 and planned["report_win_rate_vs_base"] == 1


def check_win_rates(results: Path, config: dict) -> list[dict]:
    """Every model's win rate against its iteration-0 self after the run's one iteration: the duels counted,
    the rate inside its Wilson interval."""
    documents = []
    for model in config["models"]:
        document = read_document(results / "iter_1" / "eval" / "vs_base" / f"{model}.json", WIN_RATE_VS_BASE)
        assert document["prompts"] == config["task"]["heldout_size"] == document["identical"] + document["judged"]
        decided = document["wins"] + document["ties"] + document["losses"]
        assert decided + document["undecided"] == document["prompts"] and decided > 0
        assert 0.0 <= document["ci_low"] <= document["win_rate"] <= document["ci_high"] <= 1.0
        assert document["jurors"] == sorted(m for m in config["models"] if m != model)
        documents.append(document)
        metrics = json.loads((results / "iter_1" / "eval" / f"{model}.json").read_text())
        assert metrics["model"] == model and metrics["evaluator"] is None and metrics["greedy_accuracy"] is None
        built = json.loads((results / "models" / model / "train_metrics.json").read_text())
        assert built["target_accuracy"] is None and built["steps"] == built["max_steps"]
    assert (results / "report" / "win_rate_vs_base.png").is_file()
    return documents


@pytest.mark.slow
def test_a_free_form_tribe_judged_by_likelihood_runs_to_the_end(tmp_path):
    write_free_form(tmp_path / "free.jsonl")
    config = free_form_config(tmp_path / "free.jsonl", "tribe", "likelihood")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake("--configfile", tmp_path / "config.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-5000:]
    documents = check_win_rates(tmp_path / "results" / config["run"], config)
    # training moved some answers, and the peers told them from the base's
    assert sum(d["judged"] for d in documents) > 0


@pytest.mark.slow
def test_a_free_form_selfplay_judged_by_scores_runs_to_the_end(tmp_path):
    write_free_form(tmp_path / "free.jsonl")
    config = free_form_config(tmp_path / "free.jsonl", "selfplay", "score")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake("--configfile", tmp_path / "config.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-5000:]
    check_win_rates(tmp_path / "results" / config["run"], config)
