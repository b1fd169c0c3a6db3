"""The selfplay protocol end to end: a real Snakemake run of the micro selfplay config, started from the session's
embedded population; its report in a browser is in the slow lane (`pytest -m slow`)."""

import json

import pandas as pd
import pytest

from agon.contracts import GENERATIONS, JUDGMENTS, MATCHES, PAIRS, WIN_RATES, read_table
from agon.selfplay.win_rates import win_matrix

from .testing_utils import (
    MICRO_SELFPLAY,
    REPO,
    REPORT_FIGURES,
    assert_every_figure_renders,
    assert_figures_drawn,
    render_report,
    snakemake,
)

MODELS = ["ada", "bix"]
K = 3


def test_selfplay_config_lints_clean():
    result = snakemake("--lint", "--configfile", str(MICRO_SELFPLAY), cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("iteration", [0, 1])
def test_selfplay_compares_each_models_own_answers_and_trains_on_their_win_rates(selfplay_run, iteration):
    _, out = selfplay_run
    it = out / f"iter_{iteration}"
    everything = read_table(it / "matches.parquet", MATCHES)
    matches = everything[everything["model_a"] == everything["model_b"]]
    # 12 prompts x 2 models x 3 comparisons of K = 3 answers, each between two answers of one model
    assert len(matches) == 12 * 2 * 3 and (matches["sample_a"] < matches["sample_b"]).all()
    # from iteration 1 on, each answer also meets the previous policy's answer of the same index
    versus = everything[everything["model_a"] != everything["model_b"]]
    assert len(versus) == (12 * 2 * K if iteration else 0)
    assert (versus["model_b"] == versus["model_a"] + "@previous").all()
    for model in MODELS:
        generations = read_table(it / "generations" / f"{model}.parquet", GENERATIONS)
        assert len(generations) == 12 * K and sorted(set(generations["sample"])) == [0, 1, 2]
        # the ranker is the other member: never a model judging its own answers
        peer = read_table(it / "judgments" / "peer" / f"{model}.parquet", JUDGMENTS)
        judged = everything.set_index("match_id").loc[peer["match_id"]]
        assert (judged["model_a"] != model).all() and len(peer) > 0
    rates = read_table(it / "ratings" / "win_rates.parquet", WIN_RATES)
    assert len(rates) == 2 * 12 * K and rates["win_rate"].dropna().between(0, 1).all()
    # each prompt's win rates average 1/2: every comparison gives its two answers P and 1 - P
    means = rates.dropna().groupby(["model", "prompt_id"]).filter(lambda g: g["compared"].eq(K - 1).all())
    assert means.groupby(["model", "prompt_id"])["win_rate"].mean().round(9).eq(0.5).all()
    summary = json.loads((it / "ratings" / "selfplay.json").read_text())
    assert set(summary["models"]) == set(MODELS)
    for model in MODELS:
        versus_previous = summary["models"][model]["win_rate_vs_previous"]
        assert versus_previous is None if iteration == 0 else 0 <= versus_previous <= 1
        assert summary["models"][model]["compared_with_previous"] == (12 * K if iteration else 0)
    stats = json.loads((it / "pairs" / "stats.json").read_text())
    peers = pd.concat([read_table(it / "judgments" / "peer" / f"{m}.parquet", JUDGMENTS) for m in MODELS])
    wins = win_matrix(matches, peers[peers["match_id"].isin(matches["match_id"])], K)
    total = 0
    for model in MODELS:
        pairs = read_table(it / "pairs" / f"{model}.parquet", PAIRS)
        total += len(pairs)
        assert (pairs["chosen_model"] == model).all()
        if len(pairs):  # an empty table keeps the contract's columns only
            assert (pairs["chosen_probs"] > pairs["rejected_probs"]).all()
            # verdict_margin 0: the judge backs each chosen answer over its rejected one directly
            picks = zip(pairs["prompt_id"], pairs["chosen_sample"], pairs["rejected_sample"], strict=True)
            for pid, chosen, rejected in picks:
                assert 2 * wins[(model, pid)][chosen, rejected] - 1 > 0
        metrics = json.loads((it / "adapters" / model / "train_metrics.json").read_text())
        assert metrics["loss_type"] == ["sppo", "sft"] and metrics["pairs"] == len(pairs)
        assert (metrics["steps"] > 0) == (len(pairs) > 0)
    assert stats["pairs"] == total > 0
    audit = json.loads((it / "judgments" / "audit.json").read_text())
    assert {"peer/ada", "peer/bix", "verifier/verifier"} <= set(audit["judges"])


def test_selfplay_run_evaluates_every_iteration_and_is_complete(selfplay_run):
    root, out = selfplay_run
    for iteration in (0, 1, 2):
        for model in MODELS:
            metrics = json.loads((out / f"iter_{iteration}" / "eval" / f"{model}.json").read_text())
            assert metrics["iteration"] == iteration
    # the report's figures (the slow lane opens the report in a browser)
    figures = [f"report/{name}.png" for name in REPORT_FIGURES]
    assert_figures_drawn(out, figures + [f"iter_{i}/judgments/audit.png" for i in (0, 1)])
    again = snakemake("--configfile", str(MICRO_SELFPLAY), cwd=root)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_selfplay_report_shows_every_figure_in_a_browser(selfplay_run, tmp_path):
    root, _ = selfplay_run
    report = tmp_path / "report.html"
    built = snakemake("--report", str(report), "--configfile", str(MICRO_SELFPLAY), cwd=root)
    assert built.returncode == 0, built.stderr[-3000:]
    # selfplay rates no models against each other: no rating trajectory, no scheme comparison
    figures = [f"results/micro_selfplay/report/{name}.png" for name in REPORT_FIGURES]
    figures += [f"results/micro_selfplay/iter_{i}/judgments/audit.png" for i in (0, 1)]
    probe = render_report(report, "micro_selfplay", tmp_path)
    assert_every_figure_renders(probe, figures, {"Accuracy", "Judges", "Matches", "Training"})
