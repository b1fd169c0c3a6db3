"""Bradley-Terry ratings by maximum likelihood, with bootstrap or sandwich confidence intervals, as public
leaderboards fit them.

``P(a beats b) = 1 / (1 + 10 ** (-(R_a - R_b) / scale))``: on Elo's scale, so the two read alike. Only the sign of a
verdict counts, and a tie is half a win for each side. The fit is a batch over the iteration's duels (optionally
with every earlier iteration's, carried as pair counts in the document), so it does not depend on their order.

Hand-written on numpy, because scipy is not a dependency and the problem does not need it: the duels reduce to
counts per pair of models, whose log-likelihood is concave with an analytic gradient and Hessian (a weighted graph
Laplacian), so Newton's method converges in a handful of steps. A population has at most a few hundred models, so
the n x n Hessian is cheap, and Newton beats L-BFGS here. The bootstrap follows FastChat's multinomial
re-weighting: drawing N duels with replacement gives each (pair, outcome) cell a multinomial count with
probabilities count / N, so each round draws one multinomial over the cells rather than over the duels (the same
distribution at a fraction of the cost), and all rounds are fitted at once as a batch of Newton problems. The
sandwich estimator (``intervals: sandwich``) costs one more Hessian instead: ``H^-1 B H^-1`` at the fit, with H the
Hessian and B the summed outer products of the duels' own gradients (both weighted Laplacians of the pair counts),
which stays right when the model is wrong (ties, judges that disagree) where ``H^-1`` alone would not.

Ratings are relative to a reference (the anchor, or the mean of the rated models), so an interval is the
uncertainty of a model's gap to that reference: the anchor's own interval is always zero-width.
"""

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from agon.ratings.checks import require
from agon.ratings.verdicts import model_codes, rated_duels

logger = logging.getLogger(__name__)

# Newton converges quadratically, in a handful of steps. Without a ridge (l2 = 0) and a model that won or lost every
# duel against the others the likelihood has no maximum, and the steps shrink to nothing as that model's rating
# runs off: `unbounded_groups` tells that case apart before the fit.
MAX_STEPS = 100
# Logits: 1e-9 of a logit is 2e-7 rating points at the default scale.
TOLERANCE = 1.0e-9
# What a win, a tie and a loss are worth to the first model of a pair.
SCORES = np.array([1.0, 0.5, 0.0])


@dataclass(frozen=True)
class BradleyTerryConfig:
    # Elo's convention, so that BT and Elo ratings read alike: 1000 is the reference, 400 points mean 10:1 odds.
    base: float = 1000.0
    scale: float = 400.0
    # The model held at `base`; null holds the mean of the rated models there instead.
    anchor: str | None = None
    # Ridge on the logits, a N(0, 1 / l2) prior: keeps a model that won or lost all its duels finite (about
    # 1100 points above 4 straight wins). It shrinks a 3-of-4 record by 0.1%; 0 is the plain maximum likelihood.
    l2: float = 1.0e-3
    # "bootstrap": quantiles of ratings refitted on re-drawn duels; "sandwich": rating +- z * the sandwich
    # estimator's standard error, from one Hessian (arena leaderboards' analytic intervals).
    intervals: str = "bootstrap"
    # FastChat's leaderboard uses 100 to 1000 rounds; 200 puts the 2.5% and 97.5% quantiles 5 draws from the ends.
    bootstrap_rounds: int = 200
    ci: float = 0.95
    # Models change every iteration, so by default each iteration rates them from its own duels only.
    accumulate: bool = False

    def __post_init__(self) -> None:
        rounds = self.bootstrap_rounds
        require(
            "rating.bradley_terry",
            {
                "scale must be > 0": self.scale > 0,  # < 0 reverses the order, 0 puts every model at base
                "l2 must be >= 0": self.l2 >= 0,  # < 0 makes the likelihood non-concave: Newton finds no maximum
                # One round's spread is 0: a zero-width interval, reported as if it were certain.
                "bootstrap_rounds must be 0 (no intervals) or >= 2": rounds == 0 or rounds >= 2,
                "ci must be in (0, 1)": 0 < self.ci < 1,  # <= 0 gives an empty or inverted interval
            },
        )

    @classmethod
    def from_dict(cls, cfg: dict) -> "BradleyTerryConfig":
        return cls(**cfg)


def pair_counts(duels: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Wins, ties and losses of ``model_a`` per pair, each pair once with ``model_a`` first in ``models``."""
    n = len(models)
    a, b = model_codes(duels["model_a"], models), model_codes(duels["model_b"], models)
    d = np.where(a < b, 1, -1) * np.sign(duels["d"].to_numpy(dtype=float))
    # One integer cell per (pair, outcome): a bincount is ~5x faster than grouping a million rows.
    cell = (np.minimum(a, b) * n + np.maximum(a, b)) * 3 + np.select([d > 0, d == 0], [0, 1], 2)
    counts = np.bincount(cell, minlength=n * n * 3).reshape(n * n, 3)
    pairs = np.flatnonzero(counts.sum(axis=1))
    names = np.asarray(models, dtype=object)
    return pd.DataFrame(
        {
            "model_a": names[pairs // n].tolist(),
            "model_b": names[pairs % n].tolist(),
            **{k: counts[pairs, c].astype(np.int64) for c, k in enumerate(("wins", "ties", "losses"))},
        }
    )


def _with_previous(counts: pd.DataFrame, state: dict | None, models: list[str]) -> pd.DataFrame:
    """``counts`` plus the previous document's, oriented and ordered as ``pair_counts`` orders them."""
    index = {name: i for i, name in enumerate(models)}
    previous = pd.DataFrame((state or {}).get("pair_counts", []), columns=list(counts.columns))
    # Duels of models that left the population say nothing about the current models' strengths.
    previous = previous[previous["model_a"].isin(index) & previous["model_b"].isin(index)]
    flip = (previous["model_a"].map(index) > previous["model_b"].map(index)).to_numpy()
    previous = pd.DataFrame(
        {
            "model_a": np.where(flip, previous["model_b"], previous["model_a"]),
            "model_b": np.where(flip, previous["model_a"], previous["model_b"]),
            "wins": np.where(flip, previous["losses"], previous["wins"]),
            "ties": previous["ties"],
            "losses": np.where(flip, previous["wins"], previous["losses"]),
        }
    )
    total = pd.concat([counts, previous], ignore_index=True).groupby(["model_a", "model_b"], as_index=False).sum()
    order = np.lexsort((total["model_b"].map(index), total["model_a"].map(index)))
    return total.iloc[order].astype({k: np.int64 for k in ("wins", "ties", "losses")}).reset_index(drop=True)


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _objective(theta: np.ndarray, i: np.ndarray, j: np.ndarray, wins: np.ndarray, totals: np.ndarray, l2: float):
    gap = theta[:, i] - theta[:, j]
    # log s(-x) = log s(x) - x: one transcendental per pair instead of two.
    fit = (totals * _log_sigmoid(gap) - (totals - wins) * gap).sum(axis=1)
    return fit - 0.5 * l2 * (theta**2).sum(axis=1)


def fit_logits(i: np.ndarray, j: np.ndarray, wins: np.ndarray, totals: np.ndarray, n: int, l2: float) -> np.ndarray:
    """Maximum-likelihood logits of ``n`` models, one row per batch row of ``wins`` and ``totals`` (shape R x P).

    Pair p is (i[p], j[p]), every pair once; ``wins`` counts i's wins (ties as halves). Maximises
    ``sum_p w_p log s(t_i - t_j) + (N_p - w_p) log s(t_j - t_i) - l2 / 2 |t|^2`` by damped Newton steps:
    gradient ``sum_p (w_p - N_p s_p) (e_i - e_j) - l2 t``, negative Hessian ``L + l2 I`` with L the Laplacian of
    the weights ``N_p s_p (1 - s_p)``. Without the ridge the logits are defined up to a shift per connected
    component; the pseudo-inverse then takes the step that leaves each component's mean where it is (0).
    """
    rounds = wins.shape[0]
    incidence = np.zeros((len(i), n))
    incidence[np.arange(len(i)), i] = 1.0
    incidence[np.arange(len(i)), j] = -1.0
    theta = np.zeros((rounds, n))
    value = _objective(theta, i, j, wins, totals, l2)
    diagonal = np.arange(n)
    for _ in range(MAX_STEPS):
        gap = theta[:, i] - theta[:, j]
        p = 0.5 * (1.0 + np.tanh(gap / 2))  # the logistic function, without overflow
        gradient = (wins - totals * p) @ incidence - l2 * theta
        weight = totals * p * (1 - p)
        hessian = np.zeros((rounds, n, n))
        hessian[:, i, j] = -weight
        hessian[:, j, i] = -weight
        hessian[:, diagonal, diagonal] = weight @ np.abs(incidence) + l2
        if l2 > 0:
            step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        else:
            step = (np.linalg.pinv(hessian, hermitian=True) @ gradient[..., None])[..., 0]
        # Halve the step of any row whose likelihood it would lower; Newton from 0 rarely needs it.
        size = np.ones(rounds)
        for _ in range(50):
            candidate = theta + size[:, None] * step
            candidate_value = _objective(candidate, i, j, wins, totals, l2)
            worse = candidate_value < value - 1e-12 * np.abs(value)
            if not worse.any():
                break
            size[worse] /= 2
        moved = np.abs(candidate - theta).max(initial=0.0)
        theta, value = candidate, candidate_value
        if moved < TOLERANCE:
            return theta
    logger.warning("Bradley-Terry: Newton did not converge in %d steps", MAX_STEPS)
    return theta


def _laplacian(i: np.ndarray, j: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    """``sum_p weight_p (e_i - e_j)(e_i - e_j)^T`` over the pairs (i[p], j[p])."""
    laplacian = np.zeros((n, n))
    np.add.at(laplacian, (i, j), -weight)
    np.add.at(laplacian, (j, i), -weight)
    np.add.at(laplacian, (i, i), weight)
    np.add.at(laplacian, (j, j), weight)
    return laplacian


def sandwich_covariance(i: np.ndarray, j: np.ndarray, cells: np.ndarray, logits: np.ndarray, l2: float) -> np.ndarray:
    """Covariance of the fitted logits, ``H^-1 B H^-1``: H the negative Hessian at ``logits`` (ridge included),
    B the sum over duels of their score's outer product. ``cells`` holds each pair's wins, ties and losses."""
    n = len(logits)
    p = 0.5 * (1.0 + np.tanh((logits[i] - logits[j]) / 2))
    bread = _laplacian(i, j, cells.sum(axis=1) * p * (1 - p), n) + l2 * np.eye(n)
    # A duel's score is (y - p)(e_i - e_j) with y = 1, 0.5 or 0: summed squares per pair, cell by cell.
    squares = cells[:, 0] * (1 - p) ** 2 + cells[:, 1] * (0.5 - p) ** 2 + cells[:, 2] * p**2
    meat = _laplacian(i, j, squares, n)
    inverse = np.linalg.inv(bread) if l2 > 0 else np.linalg.pinv(bread, hermitian=True)
    return inverse @ meat @ inverse


def unbounded_groups(i: np.ndarray, j: np.ndarray, cells: np.ndarray, n: int) -> list[list[int]]:
    """Groups of models with no finite maximum-likelihood gap between them (empty when every gap is finite).

    Without a ridge the gaps are finite exactly when, within each connected part of the duel graph, every model
    can be reached from every other through wins or ties (Zermelo's condition). Otherwise the part splits into
    groups ordered by who beat whom, and the gaps between groups grow without bound.
    """
    scored = np.eye(n, dtype=bool)  # scored[x, y]: x won or tied at least once against y
    scored[i[cells[:, 0] + cells[:, 1] > 0], j[cells[:, 0] + cells[:, 1] > 0]] = True
    scored[j[cells[:, 2] + cells[:, 1] > 0], i[cells[:, 2] + cells[:, 1] > 0]] = True
    played = scored | scored.T
    reach, linked = scored.astype(np.int64), played.astype(np.int64)
    for _ in range(max(1, math.ceil(math.log2(n))) if n else 0):
        reach = np.minimum(reach @ reach, 1)
        linked = np.minimum(linked @ linked, 1)
    mutual = (reach & reach.T).astype(bool)
    groups: list[list[int]] = []
    for component in {tuple(np.flatnonzero(row)) for row in linked.astype(bool)}:
        strong = sorted({tuple(np.flatnonzero(mutual[x])) for x in component})
        if len(strong) > 1:
            groups += [list(group) for group in strong]
    return sorted(groups)


def _components(i: np.ndarray, j: np.ndarray, n: int) -> int:
    """Connected components of the duel graph: ratings in different ones are not comparable."""
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(i.tolist(), j.tolist(), strict=True):
        parent[root(x)] = root(y)
    return len({root(x) for x in range(n)})


def fit_bradley_terry(
    verdicts: pd.DataFrame, state: dict | None, models: list[str], cfg: BradleyTerryConfig, seed: int = 0
) -> dict:
    """Fit the iteration's duels (plus the previous document's pair counts if ``accumulate``) and document them.

    A model without a rated duel stays at ``base`` with no uncertainty or interval. With an ``anchor`` that
    model is at ``base`` exactly (a zero-width interval); without one the mean of the rated models is. Bootstrap
    rounds re-draw the duels with a ``numpy.random.Generator`` seeded by ``seed``; ``uncertainty`` is the standard
    deviation of a model's bootstrap ratings and ``ci_low``/``ci_high`` their (1 - ci) / 2 and (1 + ci) / 2
    quantiles. With sandwich intervals ``uncertainty`` is the standard error and the interval ``rating +- z *
    uncertainty``, z the normal quantile of ``(1 + ci) / 2``.
    """
    if cfg.anchor is not None and cfg.anchor not in models:
        raise ValueError(f"rating.bradley_terry.anchor: {cfg.anchor!r} is not one of the models {models}")
    duels = rated_duels(verdicts, models)
    counts = pair_counts(duels, models)
    if cfg.accumulate:
        counts = _with_previous(counts, state, models)
    in_counts = set(counts["model_a"]) | set(counts["model_b"])
    rated = [name for name in models if name in in_counts]
    if cfg.anchor is not None and rated and cfg.anchor not in rated:
        raise ValueError(f"rating.bradley_terry.anchor: {cfg.anchor!r} has no rated duel to hold the others to")
    index = {name: k for k, name in enumerate(rated)}
    i, j = (counts[column].map(index).to_numpy(dtype=np.int64) for column in ("model_a", "model_b"))
    if rated and _components(i, j, len(rated)) > 1:
        logger.warning(
            "Bradley-Terry: the duels split the models into unconnected groups; their ratings do not compare"
        )

    cells = counts[["wins", "ties", "losses"]].to_numpy(dtype=float)  # (P, 3)
    points = cfg.scale / math.log(10)
    if rated and cfg.l2 == 0 and (groups := unbounded_groups(i, j, cells, len(rated))):
        logger.warning(
            "Bradley-Terry with l2 = 0: the duels give no finite ratings; the models split into groups that won "
            "or lost every duel against each other (%s), and the gaps between groups are where Newton stopped, "
            "not estimates; set rating.bradley_terry.l2 > 0 (1e-3 by default)",
            "; ".join(str([rated[k] for k in group]) for group in groups),
        )
    # Ratings are gaps to the reference: the anchor's logit, or the rated models' mean logit.
    n = len(rated)
    reference = np.eye(n)[index[cfg.anchor]] if cfg.anchor is not None and rated else np.full(n, 1 / max(n, 1))
    to_ratings = points * (np.eye(n) - reference[None, :])

    def ratings(logits: np.ndarray) -> np.ndarray:
        return cfg.base + logits @ to_ratings.T

    point = uncertainty = low = high = None
    if rated:
        logits = fit_logits(i, j, (cells @ SCORES)[None], cells.sum(axis=1)[None], len(rated), cfg.l2)[0]
        point = ratings(logits[None])[0]
    if rated and cfg.intervals == "sandwich":
        covariance = to_ratings @ sandwich_covariance(i, j, cells, logits, cfg.l2) @ to_ratings.T
        uncertainty = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        z = NormalDist().inv_cdf((1 + cfg.ci) / 2)
        low, high = point - z * uncertainty, point + z * uncertainty
    elif rated and cfg.bootstrap_rounds:
        rng = np.random.default_rng(seed)
        flat = cells.ravel()
        draws = rng.multinomial(int(flat.sum()), flat / flat.sum(), size=cfg.bootstrap_rounds).reshape(-1, *cells.shape)
        samples = ratings(fit_logits(i, j, draws @ SCORES, draws.sum(axis=2), len(rated), cfg.l2))
        uncertainty = samples.std(axis=0, ddof=1)
        low, high = np.quantile(samples, [(1 - cfg.ci) / 2, (1 + cfg.ci) / 2], axis=0)

    played = pd.concat([duels["model_a"], duels["model_b"]]).value_counts()
    previous = (state or {}).get("models", {})
    entries = {}
    rating, spread, ci_low, ci_high = (
        dict(zip(rated, values.tolist(), strict=True)) if values is not None else {}
        for values in (point, uncertainty, low, high)
    )
    for name in models:
        matches = int(played.get(name, 0))
        entries[name] = {
            "rating": rating.get(name, cfg.base),
            "uncertainty": spread.get(name),
            "ci_low": ci_low.get(name),
            "ci_high": ci_high.get(name),
            "matches": matches,
            "updates": previous.get(name, {}).get("updates", 0) + matches,
            "recent_changes": [],
            "history": [rating[name]] if name in rating else [],
        }
    return {
        "scheme": "bradley_terry",
        "params": asdict(cfg),
        "models": entries,
        "duels": len(duels),
        "fitted_duels": int(cells.sum()),
        "pair_counts": counts.to_dict("records"),
    }


def win_probabilities(document: dict, model_a: Sequence[str], model_b: Sequence[str]) -> np.ndarray:
    """P(a beats b) = 1 / (1 + 10 ** (-(R_a - R_b) / scale)): the model the ratings were fitted under."""
    models, scale = document["models"], document["params"]["scale"]
    gap = np.array([models[a]["rating"] - models[b]["rating"] for a, b in zip(model_a, model_b, strict=True)])
    return 1 / (1 + 10 ** (-gap.astype(float) / scale))
