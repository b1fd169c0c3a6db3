"""Scheme comparison: Kendall tau, held-out log-loss and accuracy, CI separability, the JSON and the plot."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from agon.contracts import JUDGMENTS, MATCHES, write_table
from agon.files import read_json
from agon.ratings.comparison import (
    ci_separability,
    compare_schemes,
    kendall_tau,
    logistic_slope,
    write_comparison,
)

from .testing_utils import judgments_of, matches_of

MODELS = ["m0", "m1", "m2", "m3", "m4"]
ALL_SCHEMES = {
    "sparta": {},
    "sparta_dynamic": {},
    "sparta_static": {"weights": {"m0": 0.5}},
    "elo": {},
    "bradley_terry": {"bootstrap_rounds": 50},
    "weng_lin": {},
    "win_rate": {},
}


def _synthetic_verdicts(n: int, seed: int) -> pd.DataFrame:
    """Duels among MODELS whose strengths rise by 0.5 logit per index; about 1 in 10 is a tie."""
    rng = np.random.default_rng(seed)
    strength = np.arange(len(MODELS)) * 0.5
    a = rng.integers(0, len(MODELS), n)
    b = (a + rng.integers(1, len(MODELS), n)) % len(MODELS)
    p = 1 / (1 + np.exp(-(strength[a] - strength[b])))
    u = rng.random(n)
    d = np.where(u < p - 0.05, 1.0, np.where(u < p + 0.05, 0.0, -1.0))
    return pd.DataFrame(
        {
            "match_id": [f"x{k}" for k in range(n)],
            "round": 0,
            "prompt_id": [f"p{k}" for k in range(n)],
            "model_a": np.array(MODELS)[a],
            "model_b": np.array(MODELS)[b],
            "d": d,
            "n_judges": 1,
        }
    )


def test_kendall_tau_by_hand():
    # pairs (1,2) and (1,3) concordant, (2,3) discordant: (2 - 1) / 3
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 2, 3], [30, 20, 10]) == -1.0
    # tau-b: x ties its first pair; 2 concordant, 0 discordant over sqrt(2 untied in x * 3 untied in y)
    assert kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    assert kendall_tau([5, 5, 5], [1, 2, 3]) is None


def test_ci_separability_by_hand():
    # [0, 1] and [2, 3] apart; [0.5, 2.5] overlaps both: 1 of 3 pairs separable
    intervals = {"a": (0.0, 1.0), "b": (2.0, 3.0), "c": (0.5, 2.5)}
    document = {"models": {m: {"ci_low": lo, "ci_high": hi} for m, (lo, hi) in intervals.items()}}
    assert ci_separability(document) == pytest.approx(1 / 3)
    assert ci_separability({"models": {"a": {"rating": 1.0}, "b": {"rating": 2.0}}}) is None


def test_logistic_slope_recovers_the_odds_and_stops_at_zero():
    # gap 1, won 3 of 4: s(b) = 3/4 -> b = ln 3, less the ridge's pull of about l2 * b / (4 * 3/16) = 1.5e-3
    gap, outcome = np.ones(4), np.array([1.0, 1.0, 1.0, 0.0])
    assert logistic_slope(gap, outcome) == pytest.approx(math.log(3), abs=2e-3)
    assert logistic_slope(gap, 1 - outcome) == 0.0  # the ratings point the wrong way: no better than a coin


def test_comparison_of_every_scheme_is_complete_finite_and_bounded():
    comparison = compare_schemes(_synthetic_verdicts(400, seed=0), ALL_SCHEMES, MODELS, seed=5)
    schemes = list(ALL_SCHEMES)
    assert comparison["schemes"] == schemes
    assert (comparison["duels"], comparison["train_duels"], comparison["test_duels"]) == (400, 320, 80)
    for s in schemes:
        assert comparison["kendall_tau"][s][s] == 1.0
        assert 0 < comparison["log_loss"][s] < math.log(2)  # better than a coin on duels with a real order
        assert 0.5 < comparison["accuracy"][s] <= 1
        # the strongest model is ranked first by every scheme
        assert max(comparison["ratings"][s], key=comparison["ratings"][s].get) == "m4"
    for s in ("sparta", "sparta_dynamic", "sparta_static", "elo"):
        assert comparison["ci_separability"][s] is None
    for s in ("bradley_terry", "weng_lin", "win_rate"):
        assert 0 <= comparison["ci_separability"][s] <= 1
    # the SPARTA variants differ only in how judges weigh, which the shared verdicts fix: identical schemes
    assert comparison["kendall_tau"]["sparta"]["sparta_dynamic"] == 1.0
    assert comparison["log_loss"]["sparta"] == comparison["log_loss"]["sparta_static"]
    json.dumps(comparison, allow_nan=False)


def test_comparison_is_reproducible_for_a_seed_and_the_split_follows_it():
    verdicts, schemes = _synthetic_verdicts(200, seed=1), {"elo": {}, "win_rate": {}}
    first = compare_schemes(verdicts, schemes, MODELS, seed=3)
    assert compare_schemes(verdicts, schemes, MODELS, seed=3) == first
    assert compare_schemes(verdicts, schemes, MODELS, seed=4)["log_loss"] != first["log_loss"]


def test_comparison_of_too_few_duels_reports_nulls_not_errors():
    verdicts = _synthetic_verdicts(1, seed=0)
    comparison = compare_schemes(verdicts, {"elo": {}, "win_rate": {}}, MODELS, seed=0)
    assert comparison["test_duels"] == 0
    assert comparison["log_loss"] == {"elo": None, "win_rate": None}
    assert comparison["accuracy"] == {"elo": None, "win_rate": None}


def test_write_comparison_writes_the_json_and_a_png(tmp_path):
    pairs = [(f"m{k}", "a", "b") for k in range(10)] + [(f"n{k}", "b", "c") for k in range(10)]
    write_table(matches_of(*pairs), tmp_path / "matches.parquet", MATCHES)
    # judge e prefers the first-named model, except in one duel of each pair: a > b > c
    rows = [(m, "e", "ab", -1.0 if m in ("m0", "n0") else 1.0) for m, _, _ in pairs]
    write_table(judgments_of(*rows), tmp_path / "e.parquet", JUDGMENTS)
    comparison = write_comparison(
        tmp_path / "matches.parquet",
        [tmp_path / "e.parquet"],
        tmp_path / "out" / "comparison.json",
        tmp_path / "out" / "comparison.png",
        {"elo": {}, "bradley_terry": {"bootstrap_rounds": 20}},
        ["a", "b", "c"],  # e judges from outside the population, weighing 1
        seed=0,
    )
    assert read_json(tmp_path / "out" / "comparison.json") == json.loads(json.dumps(comparison))
    assert comparison["duels"] == 20 and comparison["kendall_tau"]["elo"]["bradley_terry"] == 1.0
    assert (tmp_path / "out" / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
