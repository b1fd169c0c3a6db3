"""Real Snakemake runs of the workflow: lint, dry-runs, and an end-to-end micro run in a temporary directory,
started from the session's embedded population. The runs the micro run's outputs go on to (a judge in shards,
judges from outside the population, the report in a browser) are in the slow lane (`pytest -m slow`)."""

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from safetensors.torch import load_file

from agon.contracts import GENERATIONS, JUDGMENTS, MATCHES, PAIRS, PROMPTS, read_table

from .testing_utils import (
    MICRO,
    REPO,
    REPORT_FIGURES,
    assert_every_figure_renders,
    assert_figures_drawn,
    jobs_run,
    render_report,
    save_classifier,
    snakemake,
)


def test_lint_is_clean():
    result = snakemake("--lint", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_default_config_dry_run_plans_every_iteration(tmp_path):
    result = snakemake("--dry-run", "--configfile", str(REPO / "config" / "config.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = result.stdout
    # 3 iterations: 4 members x 3 generations, judges and trainings; evaluations at iterations 0..3
    expected = [
        ("embedded_member", 4),
        ("infer", 12),
        ("judge_by_member", 12),
        ("gather_member_judgments", 12),
        ("judge_by_verifier", 3),
        ("judge_agreement", 3),
        ("judge_audit", 3),
        ("rate", 3),
        ("compare_schemes", 3),
        ("rating_trajectory", 1),
        ("pairs", 3),
        ("train", 12),
        ("evaluate", 16),
        ("tokenizer", 1),
    ]
    for rule, count in expected:
        assert any(line.split() == [rule, str(count)] for line in plan.splitlines()), (rule, plan)
    assert not (tmp_path / "results").exists()


def test_bad_config_stops_before_any_job_and_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("generation:\n  top_p: 2.0\n")
    result = snakemake("--configfile", str(bad), cwd=tmp_path)
    assert result.returncode != 0
    assert "config key 'generation.top_p': 2.0 is greater than the maximum of 1" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


MODELS = ("ada", "bix", "cyr")


def test_micro_run_builds_the_population_and_splits(micro_run):
    _, out = micro_run
    splits = {s: read_table(out / "data" / f"{s}.parquet", PROMPTS) for s in ("train", "preference", "heldout")}
    assert len(splits["heldout"]) == 20 and len(splits["preference"]) == 40
    for model in MODELS:
        assert (out / "models" / model / "model.safetensors").exists()
    # the members differ: independent seeds and data
    ada = (out / "models" / "ada" / "model.safetensors").read_bytes()
    assert ada != (out / "models" / "bix" / "model.safetensors").read_bytes()


@pytest.mark.parametrize("iteration", [0, 1])
def test_micro_run_iteration_files_exist_and_validate(micro_run, iteration):
    _, out = micro_run
    it = out / f"iter_{iteration}"
    matches = read_table(it / "matches.parquet", MATCHES)
    assert len(matches) == 12 and (matches["model_a"] != matches["model_b"]).all()
    prompts = read_table(it / "prompts.parquet", PROMPTS)
    assert matches["prompt_id"].tolist() == prompts["prompt_id"].tolist()
    for model in MODELS:
        gen = read_table(it / "generations" / f"{model}.parquet", GENERATIONS)
        duels = matches[(matches["model_a"] == model) | (matches["model_b"] == model)]
        # only the prompts of the model's own duels, samples_per_prompt each, gathered from two shards
        assert sorted(gen["prompt_id"].unique()) == sorted(duels["prompt_id"])
        assert len(gen) == 2 * len(duels)
        expected_adapter = str(Path("results/micro/iter_0/adapters") / model) if iteration == 1 else ""
        assert set(gen["adapter"]) == {expected_adapter}  # provenance: iteration 1 answers with iteration 0's adapter
        peer = read_table(it / "judgments" / "peer" / f"{model}.parquet", JUDGMENTS)
        judged = matches.set_index("match_id").loc[peer["match_id"]]
        assert ((judged["model_a"] != model) & (judged["model_b"] != model)).all()  # never its own duel
        assert set(peer["judge"]) <= {model}
        read_table(it / "pairs" / f"{model}.parquet", PAIRS)
        adapter = it / "adapters" / model
        weights = load_file(adapter / "adapter_model.safetensors")
        assert any(w.abs().sum() > 0 for name, w in weights.items() if "lora_B" in name)
        metrics = json.loads((adapter / "train_metrics.json").read_text())
        assert metrics["previous_adapter"] == (
            str(Path("results/micro/iter_0/adapters") / model) if iteration else None
        )
    verifier = read_table(it / "judgments" / "verifier" / "verifier.parquet", JUDGMENTS)
    assert set(verifier["match_id"]) == set(matches["match_id"])
    comparison = json.loads((it / "ratings" / "comparison.json").read_text())
    assert set(comparison["schemes"]) >= {"sparta", "elo", "bradley_terry", "weng_lin", "win_rate"}
    assert (it / "ratings" / "comparison.png").stat().st_size > 0
    ratings = json.loads((it / "ratings" / "sparta.json").read_text())
    assert set(ratings["models"]) == set(MODELS) and ratings["scheme"] == "sparta"
    agreement = json.loads((it / "judgments" / "agreement.json").read_text())
    assert agreement["peer"]["duels"] == 12
    audit = json.loads((it / "judgments" / "audit.json").read_text())
    assert {f"peer/{m}" for m in MODELS} | {"peer/*", "verifier/verifier"} <= set(audit["judges"])
    assert (it / "judgments" / "audit.png").stat().st_size > 0
    stats = json.loads((it / "pairs" / "stats.json").read_text())
    assert stats["candidates"] == 12 and stats["pairs"] == len(read_table(it / "pairs" / "ada.parquet", PAIRS))


def test_micro_run_evaluates_every_model_at_every_iteration(micro_run):
    _, out = micro_run
    for iteration in (0, 1, 2):
        for model in MODELS:
            metrics = json.loads((out / f"iter_{iteration}" / "eval" / f"{model}.json").read_text())
            assert metrics["iteration"] == iteration and metrics["heldout_prompts"] == 20
            assert {"greedy_accuracy", "sampled_accuracy"} <= set(metrics)
    assert not any(out.rglob("shards/*/*.parquet"))  # shard files are temporary
    trajectory = pd.read_csv(out / "ratings" / "sparta.tsv", sep="\t")
    assert sorted(set(trajectory["iteration"])) == [0, 1] and set(trajectory["model"]) == set(MODELS)
    assert trajectory["greedy_accuracy"].notna().all()
    health = pd.read_csv(out / "ratings" / "sparta_health.tsv", sep="\t")
    assert health["iteration"].tolist() == [0, 1] and (health["models"] == len(MODELS)).all()
    assert (health["spearman_greedy"].isna() | health["spearman_greedy"].between(-1, 1)).all()
    # the report's figures (the slow lane opens the report in a browser)
    assert_figures_drawn(out, [f"report/{name}.png" for name in [*REPORT_FIGURES, "ratings_sparta"]])


def test_micro_run_is_complete_and_reruns_only_the_rating_stage(micro_run):
    root, out = micro_run
    again = snakemake("--configfile", str(MICRO), cwd=root)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr
    # another scheme from the judgments on disk, all iterations at once: only rate jobs run (and the table)
    elo = snakemake("results/micro/ratings/elo.tsv", "--configfile", str(MICRO), cwd=root)
    assert elo.returncode == 0, elo.stderr[-3000:]
    assert set(re.findall(r"^(?:local)?rule (\w+):", elo.stdout + elo.stderr, flags=re.MULTILINE)) == {
        "rate",
        "rating_trajectory",
    }
    assert json.loads((out / "iter_1" / "ratings" / "elo.json").read_text())["scheme"] == "elo"


def test_judging_shards_plan_shard_jobs_per_judge_and_one_gather_each(tmp_path):
    config = yaml.safe_load(MICRO.read_text())
    config["judging"] |= {
        "judges": ["peer", "verifier", "rm"],
        "external": {"rm": {"method": "reward_model", "model": "some/reward-model"}},
        "shards": 2,
    }
    sharded = tmp_path / "sharded.yaml"
    sharded.write_text(yaml.safe_dump(config))
    plan = snakemake("--dry-run", "--configfile", str(sharded), cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr[-3000:]
    judging = {rule: n for rule, n in jobs_run(plan).items() if "judg" in rule}
    # 2 iterations x (3 peers + 1 outside judge) x 2 shards, one gather per judge; the verifier stays one job
    assert judging == {
        "judge_by_member": 12,
        "gather_member_judgments": 6,
        "judge_by_external": 4,
        "gather_external_judgments": 2,
        "judge_by_verifier": 2,
        "judge_agreement": 2,
        "judge_audit": 2,
    }


@pytest.mark.slow
def test_a_judge_in_two_shards_writes_the_file_of_one_job(micro_run, tmp_path):
    # On a copy of the finished run (its judgments came from one shard each): one judge again, in two shards.
    _, out = micro_run
    root = tmp_path / "copy"
    shutil.copytree(out, root / "results" / "micro")
    config = yaml.safe_load(MICRO.read_text())
    config["judging"]["shards"] = 2
    sharded = tmp_path / "sharded.yaml"
    sharded.write_text(yaml.safe_dump(config))
    judgments = Path("iter_1") / "judgments" / "peer" / "ada.parquet"
    (root / "results" / "micro" / judgments).unlink()
    again = snakemake(str(Path("results") / "micro" / judgments), "--configfile", str(sharded), cwd=root)
    assert again.returncode == 0, again.stderr[-3000:]
    assert jobs_run(again) == {"judge_by_member": 2, "gather_member_judgments": 1}
    assert (root / "results" / "micro" / judgments).read_bytes() == (out / judgments).read_bytes()
    assert not any((root / "results" / "micro").rglob("shards/*/*.parquet"))  # shard files are temporary


@pytest.mark.slow
def test_micro_run_report_shows_every_figure_in_a_browser(micro_run, tmp_path):
    root, _ = micro_run
    report = tmp_path / "report.html"
    built = snakemake("--report", str(report), "--configfile", str(MICRO), cwd=root)
    assert built.returncode == 0, built.stderr[-3000:]
    figures = [f"results/micro/report/{name}.png" for name in [*REPORT_FIGURES, "ratings_sparta"]]
    figures += [
        f"results/micro/iter_{i}/{f}" for i in (0, 1) for f in ("judgments/audit.png", "ratings/comparison.png")
    ]
    probe = render_report(report, "micro", tmp_path)
    assert_every_figure_renders(probe, figures, {"Accuracy", "Judges", "Matches", "Ratings", "Training"})


@pytest.mark.slow
def test_micro_run_rejudges_offline_with_judges_from_outside_the_population(micro_run, tmp_path):
    # Last in this file: it adds judges to the finished micro run, which the tests above read as the plain config.
    root, out = micro_run
    config = yaml.safe_load(MICRO.read_text())
    config["judging"]["external"] = {
        "rm": {"method": "reward_model", "model": str(save_classifier(tmp_path / "rm", chat=True).path)},
        "ranker": {"method": "pairwise", "model": str(save_classifier(tmp_path / "ranker", chat=False).path)},
    }
    defined = tmp_path / "defined.yaml"
    defined.write_text(yaml.safe_dump(config))
    # Defined but not listed in judging.judges: nothing runs until a file of theirs is asked for.
    nothing = snakemake("--configfile", str(defined), "--dry-run", cwd=root)
    assert nothing.returncode == 0 and "Nothing to be done" in nothing.stdout + nothing.stderr
    # One judge on one past iteration, from the generations on disk: only its job runs.
    one = snakemake("results/micro/iter_0/judgments/rm/rm.parquet", "--configfile", str(defined), cwd=root)
    assert one.returncode == 0, one.stderr[-3000:]
    assert jobs_run(one) == {"judge_by_external": 1, "gather_external_judgments": 1}
    matches = read_table(out / "iter_0" / "matches.parquet", MATCHES)
    rm = read_table(out / "iter_0" / "judgments" / "rm" / "rm.parquet", JUDGMENTS)
    assert rm["match_id"].tolist() == matches["match_id"].tolist() and set(rm["order"]) == {"ab"}
    assert rm["valid"].all() and rm["preference"].between(-1, 1).all() and set(rm["method"]) == {"reward_model"}
    # Ratings from its verdicts for both iterations: its judge job for iteration 1, then the chained rate jobs.
    rated = snakemake("results/micro/iter_1/ratings/by_rm/bradley_terry.json", "--configfile", str(defined), cwd=root)
    assert rated.returncode == 0, rated.stderr[-3000:]
    assert jobs_run(rated) == {"judge_by_external": 1, "gather_external_judgments": 1, "rate_by_judge": 2}
    by_rm = json.loads((out / "iter_1" / "ratings" / "by_rm" / "bradley_terry.json").read_text())
    assert set(by_rm["models"]) == set(MODELS) and by_rm["duels"] == 12
    # Listing both judges runs their jobs and the audits, and re-runs nothing else of the finished run.
    config["judging"]["judges"] = ["peer", "verifier", "rm", "ranker"]
    listed = tmp_path / "listed.yaml"
    listed.write_text(yaml.safe_dump(config))
    everything = snakemake("--configfile", str(listed), cwd=root)
    assert everything.returncode == 0, everything.stderr[-3000:]
    assert jobs_run(everything) == {"judge_by_external": 2, "gather_external_judgments": 2, "judge_audit": 2}
    ranker = read_table(out / "iter_1" / "judgments" / "ranker" / "ranker.parquet", JUDGMENTS)
    assert len(ranker) == 2 * 12 and set(ranker["order"]) == {"ab", "ba"} and ranker["valid"].all()
    audit = json.loads((out / "iter_1" / "judgments" / "audit.json").read_text())
    assert {"reward_model/rm", "pairwise/ranker", "peer/*", "verifier/verifier"} <= set(audit["judges"])
    assert audit["judges"]["reward_model/rm"]["order_flip_rate"] is None  # one order: nothing to flip
    assert audit["judges"]["pairwise/ranker"]["two_order_duels"] == 12
