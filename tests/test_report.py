"""The report's figures: what they compute from the run's files, and that they draw the same bytes every time."""

import numpy as np
import pandas as pd

from agon.report import (
    accuracy_table,
    interval,
    pair_counts,
    plot_accuracy,
    plot_pair_stats,
    plot_selfplay_win_rates,
    plot_training_curves,
    plot_win_matrices,
    training_log,
    win_matrix,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_win_matrix_counts_a_tie_as_half_a_win_and_skips_duels_without_a_verdict():
    verdicts = pd.DataFrame(
        [("ada", "bix", 0.5), ("bix", "ada", 0.0), ("ada", "cyr", -1.0), ("ada", "bix", np.nan)],
        columns=["model_a", "model_b", "d"],
    )
    wins, games = win_matrix(verdicts, ["ada", "bix", "cyr"])
    # ada beat bix once and tied once: 1 + 0.5 of 2; bix gets the other 0.5; cyr beat ada in their one duel
    assert wins.tolist() == [[0.0, 1.5, 0.0], [0.5, 0.0, 0.0], [1.0, 0.0, 0.0]]
    assert games.tolist() == [[0.0, 2.0, 1.0], [2.0, 0.0, 0.0], [1.0, 0.0, 0.0]]


def test_pair_counts_read_each_protocols_reasons_for_no_pair():
    tribe = {"pairs": 12, "candidates": 16, "dropped": {"identical_answers": 3, "no_verdict": 1}}
    assert pair_counts(tribe) == {"pairs": 12, "no pair: identical_answers": 3, "no pair: no_verdict": 1}
    selfplay = {"pairs": 18, "candidates": 24, "dropped": {"tied": 6, "identical": 0}}
    assert pair_counts(selfplay) == {"pairs": 18, "no pair: tied": 6.0, "no pair: identical": 0.0}
    debate = {"pairs": 8, "candidates": 12, "dropped": {"tie": 2}}
    assert pair_counts(debate) == {"pairs": 8, "no pair: tie": 2.0}


def test_training_log_takes_dpo_margins_or_sppo_log_ratio_differences_and_skips_the_summary():
    metrics = {
        "log": [
            {"step": 1, "loss": 0.7, "rewards/margins": 0.02},
            {"step": 2, "loss": 0.6, "logratios/chosen": 0.3, "logratios/rejected": -0.2},
            {"step": 2, "train_loss": 0.65},
        ]
    }
    log = training_log(metrics)
    assert log.to_dict("list") == {"step": [1.0, 2.0], "loss": [0.7, 0.6], "margin": [0.02, 0.5]}
    assert training_log({"log": [], "skipped": "no pairs"}).empty


def test_interval_prefers_the_schemes_own_interval_then_the_uncertainty():
    with_ci = pd.DataFrame({"rating": [10.0], "uncertainty": [2.0], "ci_low": [7.0], "ci_high": [12.0]})
    assert [x.tolist() for x in interval(with_ci)[:2]] == [[7.0], [12.0]]
    sigma = with_ci.assign(ci_low=None, ci_high=None)
    assert [x.tolist() for x in interval(sigma)[:2]] == [[8.0], [12.0]]
    elo = sigma.assign(uncertainty=None)
    assert np.isnan(interval(elo)[0]).all() and interval(elo)[2] == "no interval"


def test_figures_are_deterministic_pngs_without_software_or_date(tmp_path):
    reports = [
        {"iteration": i, "model": m, "greedy_accuracy": 0.1 * i, "sampled_accuracy": 0.05 * i}
        for i in range(3)
        for m in ("ada", "bix")
    ]
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    plot_accuracy(accuracy_table(reports), first)
    plot_accuracy(accuracy_table(reports[::-1]), second)
    data = first.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and data == second.read_bytes()
    assert b"matplotlib" not in data and b"Creation" not in data


def test_figures_draw_runs_with_nothing_to_show(tmp_path):
    # a run whose trainings were all skipped, whose duels had no verdict and whose first iteration has no
    # previous policy still gets every figure, saying so, rather than a failed job and a hole in the report
    plot_training_curves([(0, "ada", training_log({"log": []}))], tmp_path / "training.png")
    empty = np.zeros((2, 2))
    plot_win_matrices([("iteration 0", empty, empty)], ["ada", "bix"], tmp_path / "wins.png")
    summary = {"models": {"ada": {"win_rate_vs_previous": None, "prompts": 0, "prompts_told_apart": 0}}}
    plot_selfplay_win_rates([summary], ["ada"], tmp_path / "selfplay.png")
    no_pairs = {
        "pairs": 0,
        "dropped": {},
        "mean_margin": None,
        "extras": {},
        **dict.fromkeys(("chosen_correct", "rejected_correct", "inverted", "both_wrong")),
    }
    plot_pair_stats([no_pairs], tmp_path / "pairs.png")
    for name in ("training", "wins", "selfplay", "pairs"):
        assert (tmp_path / f"{name}.png").read_bytes().startswith(PNG_SIGNATURE)
