"""Ratings against references: Bradley-Terry against scikit-learn and against the strengths that drew the duels,
and which schemes may depend on the model names and the order of the rows.

scikit-learn is a test dependency only (the package fits Bradley-Terry on numpy), so the file skips without it.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agon.ratings import SCHEMES, BradleyTerryConfig, EloConfig, fit_bradley_terry, fit_elo, fit_ratings, ratings_of

from .testing_utils import close, verdicts_of

sklearn_linear_model = pytest.importorskip("sklearn.linear_model")

# 8 models 0.4 logits apart (the best beats the worst 94% of the time): far enough apart for 4,000 duels to
# rank them, close enough that every pair's duels go both ways, so the plain likelihood has a finite maximum.
STRENGTHS = np.linspace(-1.4, 1.4, 8)
NAMES = [f"m{k}" for k in range(len(STRENGTHS))]
POINTS = 400 / math.log(10)  # rating points per logit at the default scale


def _synthetic_duels(seed: int, n_duels: int, tie_share: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, d) for ``n_duels`` duels between distinct models drawn uniformly, a winning with probability
    sigmoid(s_a - s_b); a ``tie_share`` of them, drawn regardless of strength, are ties (d = 0)."""
    rng = np.random.default_rng(seed)
    n = len(STRENGTHS)
    a = rng.integers(n, size=n_duels)
    b = (a + rng.integers(1, n, size=n_duels)) % n  # any model but a, uniformly
    wins = rng.random(n_duels) < 1 / (1 + np.exp(-(STRENGTHS[a] - STRENGTHS[b])))
    ties = rng.random(n_duels) < tie_share
    return a, b, np.where(ties, 0.0, np.where(wins, 1.0, -1.0))


def _as_verdicts(a: np.ndarray, b: np.ndarray, d: np.ndarray) -> pd.DataFrame:
    return verdicts_of(*zip((NAMES[k] for k in a), (NAMES[k] for k in b), d.tolist(), strict=True))


def _sklearn_logits(a: np.ndarray, b: np.ndarray, d: np.ndarray, l2: float) -> np.ndarray:
    """Bradley-Terry as scikit-learn's logistic regression: one row per duel with +1 for a and -1 for b, the
    label "a won", no intercept (only differences are identified). A tie is half a win and half a loss: two rows
    of weight 1/2. sklearn minimises ``sum(w loss) + |coef|^2 / (2 C)``, our ridge is ``l2 / 2 |t|^2``: C = 1 / l2."""
    ties = d == 0
    rows = np.concatenate([np.arange(len(d)), np.flatnonzero(ties)])
    x = np.zeros((len(rows), len(STRENGTHS)))
    x[np.arange(len(rows)), a[rows]] = 1.0
    x[np.arange(len(rows)), b[rows]] = -1.0
    y = np.concatenate([d > 0, np.zeros(ties.sum(), dtype=bool)])
    y[np.flatnonzero(ties)] = True  # the first row of a tie is its half win, the appended row its half loss
    weight = np.where(np.concatenate([ties, np.ones(ties.sum(), dtype=bool)]), 0.5, 1.0)
    model = sklearn_linear_model.LogisticRegression(
        C=1 / l2 if l2 > 0 else np.inf, fit_intercept=False, solver="lbfgs", tol=1e-10, max_iter=10_000
    )
    return model.fit(x, y, sample_weight=weight).coef_[0]


# --- the same fit as an independent implementation --------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"l2": 0.0},  # plain maximum likelihood, the mean of the ratings at base
        {"l2": 0.0, "anchor": "m2", "base": 1500.0, "scale": 100.0},
        {"l2": 2.0},  # a strong ridge, so a mistake in its weight would show
    ],
    ids=["mle-mean", "mle-anchor-scale", "ridge"],
)
def test_bt_matches_sklearn_logistic_regression_within_a_thousandth_of_a_point(params):
    a, b, d = _synthetic_duels(seed=1, n_duels=3000, tie_share=0.1)
    doc = fit_ratings("bradley_terry", _as_verdicts(a, b, d), None, NAMES, {**params, "bootstrap_rounds": 0}, seed=0)
    cfg = BradleyTerryConfig.from_dict({**params, "bootstrap_rounds": 0})
    logits = _sklearn_logits(a, b, d, cfg.l2)
    # Agon's rating is base + scale / ln 10 * (logit - reference), reference the anchor's logit or the mean.
    reference = logits[NAMES.index(cfg.anchor)] if cfg.anchor else logits.mean()
    expected = cfg.base + cfg.scale / math.log(10) * (logits - reference)
    ours = np.array([doc["models"][name]["rating"] for name in NAMES])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-3)  # rating points, not logits


# --- recovering the strengths that drew the duels ---------------------------------------------------------


def test_bt_recovers_the_true_strengths_and_its_bootstrap_sd_matches_the_fisher_information():
    a, b, d = _synthetic_duels(seed=2, n_duels=4000)
    cfg = BradleyTerryConfig(l2=0.0, bootstrap_rounds=200)
    doc = fit_bradley_terry(_as_verdicts(a, b, d), None, NAMES, cfg, seed=5)
    ours = np.array([doc["models"][name]["rating"] for name in NAMES])
    truth = 1000.0 + POINTS * (STRENGTHS - STRENGTHS.mean())

    # The error to expect, from the Fisher information at the truth: the Laplacian of the weights
    # n_ab p_ab (1 - p_ab); its pseudo-inverse is the covariance of mean-centred logits. Each model plays about
    # 1,000 duels at p (1 - p) of about 0.2, an information of about 200 per model: se about 0.07 logits
    # (12 points), a little more for the end models, whose duels are more lopsided.
    pairs = np.zeros((len(STRENGTHS), len(STRENGTHS)))
    np.add.at(pairs, (a, b), 1)
    p = 1 / (1 + np.exp(-(STRENGTHS[:, None] - STRENGTHS[None, :])))
    weight = (pairs + pairs.T) * p * (1 - p)
    se = POINTS * np.sqrt(np.diag(np.linalg.pinv(np.diag(weight.sum(axis=1)) - weight)))
    assert se.max() < 0.1 * POINTS
    # 4 standard errors: a 1-in-16,000 event per model, so no seed should trip it
    assert np.all(np.abs(ours - truth) < 4 * se), (ours - truth) / se
    # Neighbours stand 0.4 logits apart, about 4 standard errors of their difference: the ranking is exact.
    assert np.all(np.diff(ours) > 0)

    # 200 bootstrap rounds estimate each sd to about 1 / sqrt(2 * 199) = 5%; 20% leaves 4 of those.
    spread = np.array([doc["models"][name]["uncertainty"] for name in NAMES])
    np.testing.assert_allclose(spread, se, rtol=0.2)
    # a 95% interval misses the truth for 0.4 of 8 models on average; 3 misses would take a 1-in-200 seed
    low, high = (np.array([doc["models"][name][key] for name in NAMES]) for key in ("ci_low", "ci_high"))
    assert ((low <= truth) & (truth <= high)).sum() >= 6


# --- what a rating may depend on --------------------------------------------------------------------------

DUELS = st.lists(
    st.tuples(
        st.sampled_from("abcd"),
        st.sampled_from("abcd"),
        st.one_of(st.sampled_from([-1.0, 0.0, 1.0, math.nan]), st.floats(-1.0, 1.0)),
    ).filter(lambda t: t[0] != t[1]),
    min_size=1,
    max_size=20,
)
# Bradley-Terry with a bootstrap, so its intervals are checked too; 20 rounds keep the examples fast.
PARAMS = {"bradley_terry": {"bootstrap_rounds": 20}}


def _by_name(document: dict, names: dict[str, str]) -> dict:
    """The document's model entries under the names ``names`` maps them back to."""
    back = {new: old for old, new in names.items()}
    return {back[name]: entry for name, entry in document["models"].items()}


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=20, deadline=None)
@given(DUELS, st.permutations(["w", "x", "y", "z"]))
def test_no_scheme_depends_on_the_model_names(scheme, duels, new_names):
    # The population list keeps its order (a -> its first name, ...), so any difference comes from the names
    # alone, e.g. from sorting or grouping by them; a random bijection reorders them alphabetically.
    rename = dict(zip("abcd", new_names, strict=True))
    params, models = PARAMS.get(scheme, {}), list("abcd")
    reference = fit_ratings(scheme, verdicts_of(*duels), None, models, params, seed=3)
    renamed = [(rename[a], rename[b], d) for a, b, d in duels]
    other = fit_ratings(scheme, verdicts_of(*renamed), None, [rename[m] for m in models], params, seed=3)
    assert _by_name(other, rename) == reference["models"]


@pytest.mark.parametrize("scheme", ["bradley_terry", "win_rate"])
@settings(max_examples=30, deadline=None)
@given(DUELS, st.randoms(use_true_random=False))
def test_batch_schemes_do_not_depend_on_the_order_of_the_rows(scheme, duels, random):
    # Both reduce the rows to counts per pair or per model before anything else, so the same counts give the
    # same floating-point numbers; Bradley-Terry's bootstrap re-draws those counts, not rows, so its
    # intervals for a seed do not move either.
    params = PARAMS.get(scheme, {})
    reference = fit_ratings(scheme, verdicts_of(*duels), None, list("abcd"), params, seed=3)
    shuffled = fit_ratings(scheme, verdicts_of(*random.sample(duels, len(duels))), None, list("abcd"), params, seed=3)
    assert shuffled["models"] == reference["models"]


def test_elo_in_match_order_depends_on_the_order_of_the_rows():
    # Online updates price each result at the ratings of that moment. a beats b, then b beats a, from 1000:
    # the first win moves 16 points (expected 1/2); b's win then comes as an upset, at
    # E_b = 1 / (1 + 10 ** (32 / 400)) = 0.4540780772195163, and moves 32 * (1 - E_b) = 17.47 points. The later
    # result moves more, so the same two results in the other order leave the other model ahead.
    first = fit_elo(verdicts_of(("a", "b", 1.0), ("b", "a", 1.0)), None, ["a", "b"], EloConfig(order="match"))
    second = fit_elo(verdicts_of(("b", "a", 1.0), ("a", "b", 1.0)), None, ["a", "b"], EloConfig(order="match"))
    assert ratings_of(first) == close({"a": 998.5304984710245, "b": 1001.4695015289755})
    assert ratings_of(second) == close({"a": 1001.4695015289755, "b": 998.5304984710245})
    # Bradley-Terry sees one win each in both orders: even
    bt = [
        ratings_of(fit_bradley_terry(verdicts_of(*rows), None, ["a", "b"], BradleyTerryConfig(bootstrap_rounds=0)))
        for rows in ((("a", "b", 1.0), ("b", "a", 1.0)), (("b", "a", 1.0), ("a", "b", 1.0)))
    ]
    assert bt[0] == bt[1] == pytest.approx({"a": 1000.0, "b": 1000.0})
