"""How the rating schemes compare on one iteration's verdicts: agreement, prediction and separability.

- **Kendall tau** (tau-b, which handles tied ratings) between every two schemes' ratings of the models: 1 for
  the same order, -1 for the reverse, null when a scheme rates every model alike. Hand-written (O(n^2) over a
  few hundred models at most) because scipy is not a dependency.
- **Held-out log-loss and accuracy**: the rated duels are split by a seeded permutation into a training part
  (``train_fraction``, 80% by default) and the rest; each scheme is fitted on the training duels (in match
  order, from no previous state) and predicts P(a beats b) for the rest with its own probability model:
  logistic in the rating gap for Elo and Bradley-Terry, openskill's for Weng-Lin, a Bradley-Terry ratio of win
  rates. For SPARTA a logistic curve in the rating gap stands in, ``1 / (1 + exp(-b * gap))``, with the slope
  b >= 0 fitted by maximum likelihood on the training duels: the authors' form has no win probability (its
  normal CDF only sizes steps, and with sigmas that are the spread of recent changes it is absurdly sure) and
  its ratings no fixed unit (it depends on K, scale and the population), so the probit in ``spread`` that the
  centred form settles to (``sparta.win_probabilities``, what weighs the judges) would judge the unit, not the
  order, of one of the two forms.
  Log-loss is the cross-entropy against the outcome (1, 0, or 0.5 for a tie), with probabilities clipped to
  [1e-6, 1 - 1e-6] so that one confident miss costs at most ~13.8 nats rather than infinity; accuracy counts
  decisive duels only, a 50:50 prediction as half right.
- **CI separability**: the share of model pairs whose intervals (``ci_low``, ``ci_high``, fitted on all duels)
  do not overlap; null for schemes without intervals (SPARTA, Elo).

All schemes see the same verdicts, with the judges weighed as the caller says (equally by default), so the
comparison isolates the rating rule; SPARTA's judge weighting changes the verdicts, not the rule.
"""

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import JUDGMENTS, MATCHES, read_table, read_tables
from agon.files import atomic_file, write_json
from agon.ratings import SpartaConfig, fit_ratings, rating_config, ratings_of, win_probabilities
from agon.ratings.verdicts import duel_verdicts, rated_duels

logger = logging.getLogger(__name__)

# Clipping bound of predicted probabilities: finite log-loss, at most -ln(1e-6) = 13.8 per duel.
CLIP = 1.0e-6
# Ridge on the fitted SPARTA slope: keeps it finite when the training duels all follow the ratings.
SLOPE_L2 = 1.0e-3


def _outcomes(duels: pd.DataFrame) -> np.ndarray:
    """1 when model_a won, 0 when it lost, 0.5 for a tie."""
    d = duels["d"].to_numpy(dtype=float)
    return np.where(d > 0, 1.0, np.where(d < 0, 0.0, 0.5))


def _gaps(document: dict, duels: pd.DataFrame) -> np.ndarray:
    ratings = ratings_of(document)
    return duels["model_a"].map(ratings).to_numpy(dtype=float) - duels["model_b"].map(ratings).to_numpy(dtype=float)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(x / 2))


def logistic_slope(gap: np.ndarray, outcome: np.ndarray) -> float:
    """The slope b >= 0 maximising ``sum y log s(b g) + (1 - y) log s(-b g) - SLOPE_L2 b^2 / 2`` (s the logistic).

    The objective is concave, so its derivative falls with b: 0 when it is already <= 0 at b = 0 (the ratings
    predict no better than a coin), else the root, bracketed by doubling and found by bisection.
    """

    def slope_of_objective(b: float) -> float:
        return float(((outcome - _logistic(b * gap)) * gap).sum() - SLOPE_L2 * b)

    if slope_of_objective(0.0) <= 0:
        return 0.0
    low, high = 0.0, 1.0
    while slope_of_objective(high) > 0:
        low, high = high, 2 * high
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if slope_of_objective(middle) > 0 else (low, middle)
    return (low + high) / 2


def predicted_wins(document: dict, test: pd.DataFrame, train: pd.DataFrame) -> np.ndarray:
    """P(a beats b) for the ``test`` duels from a document fitted on the ``train`` duels (see the module doc)."""
    if isinstance(rating_config(document["scheme"], document["params"]), SpartaConfig):
        return _logistic(logistic_slope(_gaps(document, train), _outcomes(train)) * _gaps(document, test))
    return win_probabilities(document, test["model_a"].tolist(), test["model_b"].tolist())


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float | None:
    """Kendall's tau-b of two equally long rating vectors; None when either has no untied pair."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    i, j = np.triu_indices(len(x), 1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    untied = np.count_nonzero(dx) * np.count_nonzero(dy)
    return float((dx * dy).sum() / np.sqrt(untied)) if untied else None


def ci_separability(document: dict) -> float | None:
    """Share of model pairs whose intervals do not overlap; None without intervals or without two models with one."""
    entries = [e for e in document["models"].values() if e.get("ci_low") is not None and e.get("ci_high") is not None]
    if len(entries) < 2:
        return None
    low = np.array([e["ci_low"] for e in entries])
    high = np.array([e["ci_high"] for e in entries])
    i, j = np.triu_indices(len(entries), 1)
    return float(((high[i] < low[j]) | (high[j] < low[i])).mean())


def _predictive_scores(document: dict, test: pd.DataFrame, train: pd.DataFrame) -> tuple[float | None, float | None]:
    """Log-loss and accuracy of the document's predictions for the test duels."""
    if test.empty:
        return None, None
    p = np.clip(predicted_wins(document, test, train), CLIP, 1 - CLIP)
    y = _outcomes(test)
    log_loss = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
    decisive = y != 0.5
    if not decisive.any():
        return log_loss, None
    hit = np.where(p == 0.5, 0.5, (p > 0.5) == (y == 1.0))
    return log_loss, float(hit[decisive].mean())


def compare_schemes(
    verdicts: pd.DataFrame,
    schemes_params: Mapping[str, dict],
    models: list[str],
    seed: int,
    *,
    train_fraction: float = 0.8,
) -> dict:
    """Compare the schemes named in ``schemes_params`` (scheme -> its ``rating.<scheme>`` params) on ``verdicts``.

    Returns a JSON-ready dict: the ratings of each scheme on all duels, ``kendall_tau`` (scheme -> scheme ->
    tau), and per scheme ``log_loss``, ``accuracy`` and ``ci_separability`` (None where undefined).
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"compare_schemes: train_fraction must be in (0, 1), got {train_fraction}")
    schemes = list(schemes_params)
    duels = verdicts.loc[verdicts["d"].notna()].reset_index(drop=True)
    rated_duels(duels, models)  # fail early, naming strangers, before any scheme is fitted
    order = np.random.default_rng(seed).permutation(len(duels))
    n_train = round(train_fraction * len(duels))
    # Online schemes replay duels in order, so both parts keep the matches' order.
    train, test = duels.iloc[np.sort(order[:n_train])], duels.iloc[np.sort(order[n_train:])]

    full = {s: fit_ratings(s, duels, None, models, schemes_params[s], seed) for s in schemes}
    ratings = {s: ratings_of(full[s]) for s in schemes}
    vectors = {s: np.array([ratings[s][m] for m in models]) for s in schemes}
    scores = {}
    for s in schemes:
        scores[s] = _predictive_scores(fit_ratings(s, train, None, models, schemes_params[s], seed), test, train)
    return {
        "schemes": schemes,
        "models": models,
        "seed": seed,
        "train_fraction": train_fraction,
        "duels": len(duels),
        "train_duels": len(train),
        "test_duels": len(test),
        "ratings": ratings,
        "kendall_tau": {s: {t: kendall_tau(vectors[s], vectors[t]) for t in schemes} for s in schemes},
        "log_loss": {s: scores[s][0] for s in schemes},
        "accuracy": {s: scores[s][1] for s in schemes},
        "ci_separability": {s: ci_separability(full[s]) for s in schemes},
    }


def plot_comparison(comparison: dict, out_png: str | Path) -> None:
    """The Kendall-tau matrix beside each scheme's held-out log-loss, as one PNG."""
    # The object-oriented API on an Agg canvas: no pyplot state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    schemes = comparison["schemes"]
    tau = np.array([[np.nan if v is None else v for v in comparison["kendall_tau"][s].values()] for s in schemes])
    loss = [np.nan if comparison["log_loss"][s] is None else comparison["log_loss"][s] for s in schemes]
    fig = Figure(figsize=(4 + 1.2 * len(schemes), 0.6 * len(schemes) + 2.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax_tau, ax_loss = fig.subplots(1, 2, width_ratios=[1.4, 1])
    image = ax_tau.imshow(tau, vmin=-1, vmax=1, cmap="coolwarm")
    for (r, c), value in np.ndenumerate(tau):
        ax_tau.text(c, r, "-" if np.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=8)
    ax_tau.set_xticks(range(len(schemes)), schemes, rotation=45, ha="right")
    ax_tau.set_yticks(range(len(schemes)), schemes)
    ax_tau.set_title("Kendall tau between rankings")
    fig.colorbar(image, ax=ax_tau, shrink=0.8)
    bars = ax_loss.barh(range(len(schemes)), loss, color="tab:blue")
    ax_loss.bar_label(bars, fmt="%.3f", fontsize=8)
    ax_loss.set_yticks(range(len(schemes)), schemes)
    ax_loss.invert_yaxis()
    ax_loss.axvline(np.log(2), color="grey", linestyle="--", linewidth=1)
    ax_loss.set_title("held-out log-loss (dashed: coin flip)")
    ax_loss.set_xlabel(f"{comparison['test_duels']} of {comparison['duels']} duels held out")
    with atomic_file(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def write_comparison(
    matches_path: str | Path,
    judgment_paths: list[str | Path],
    out_json: str | Path,
    out_png: str | Path,
    schemes_params: Mapping[str, dict],
    models: list[str],
    seed: int,
    *,
    weights: Mapping[str, float] | None = None,
    train_fraction: float = 0.8,
) -> dict:
    """Compare the schemes on one iteration's judgments; write the comparison (JSON) and its plot (PNG)."""
    if not judgment_paths:
        raise ValueError("write_comparison: no judgment files; every match needs judges")
    matches = read_table(matches_path, MATCHES)
    judgments = read_tables(judgment_paths, JUDGMENTS)
    verdicts = duel_verdicts(matches, judgments, weights or {})
    comparison = compare_schemes(verdicts, schemes_params, models, seed, train_fraction=train_fraction)
    write_json(comparison, out_json)
    plot_comparison(comparison, out_png)
    logger.info(
        "compared %s on %d held-out of %d duels; log-loss %s",
        ", ".join(comparison["schemes"]),
        comparison["test_duels"],
        comparison["duels"],
        ", ".join(f"{s} {v:.3f}" for s, v in comparison["log_loss"].items() if v is not None),
    )
    return comparison
