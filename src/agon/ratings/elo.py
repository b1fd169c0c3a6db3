"""Classic online Elo over the duels' verdicts, as a familiar reference beside SPARTA.

Only the sign of ``d`` counts (win, loss or draw). Elo depends on the order of its updates, so the order is a
choice: the matches' own order, or a seeded shuffle.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from agon.ratings.checks import require
from agon.ratings.verdicts import rated_duels

ORDERS = ("match", "shuffled")


@dataclass(frozen=True)
class EloConfig:
    # The chess convention: 1000 to start, K = 32, a 400-point gap means 10:1 odds.
    initial_rating: float = 1000.0
    k: float = 32.0
    # "match" replays the duels in file order; "shuffled" in an order drawn from the job's seed.
    order: str = "match"

    def __post_init__(self) -> None:
        require(
            "rating.elo",
            {
                f"k must be > 0, got {self.k}": self.k > 0,  # <= 0 freezes or reverses every update
                # fit_elo shuffles on "shuffled" only: a misspelt order would silently replay in match order.
                f"order must be one of {list(ORDERS)}, got {self.order!r}": self.order in ORDERS,
            },
        )

    @classmethod
    def from_dict(cls, cfg: dict) -> "EloConfig":
        return cls(**cfg)


def _expected(gap: float | np.ndarray) -> float | np.ndarray:
    """Expected score of a player ``gap`` points above its opponent: a 400-point gap means 10:1 odds."""
    return 1 / (1 + 10 ** (-gap / 400))


def fit_elo(verdicts: pd.DataFrame, state: dict | None, models: list[str], cfg: EloConfig, seed: int = 0) -> dict:
    """Run the iteration's duels from ``state`` (the previous document, or None) and document them.

    Duels without a verdict (``d`` NaN) are skipped. Elo has no uncertainty and keeps no window of changes.
    """
    previous = (state or {}).get("models", {})
    ratings = {m: float(previous[m]["rating"]) if m in previous else cfg.initial_rating for m in models}
    updates = {m: previous[m]["updates"] if m in previous else 0 for m in models}
    history: dict[str, list[float]] = {m: [] for m in models}
    duels = rated_duels(verdicts, models)
    if cfg.order == "shuffled":
        duels = duels.iloc[np.random.default_rng(seed).permutation(len(duels))]
    for a, b, d in duels.itertuples(index=False, name=None):
        expected_a = _expected(ratings[a] - ratings[b])
        score_a = 1.0 if d > 0 else 0.0 if d < 0 else 0.5
        ratings[a] += cfg.k * (score_a - expected_a)
        ratings[b] += cfg.k * ((1 - score_a) - (1 - expected_a))
        for m in (a, b):
            updates[m] += 1
            history[m].append(ratings[m])
    return {
        "scheme": "elo",
        "params": asdict(cfg),
        "models": {
            m: {
                "rating": ratings[m],
                "uncertainty": None,
                "matches": len(history[m]),
                "updates": updates[m],
                "recent_changes": [],
                "history": history[m],
            }
            for m in models
        },
        "duels": len(duels),
    }


def win_probabilities(document: dict, model_a: Sequence[str], model_b: Sequence[str]) -> np.ndarray:
    """P(a beats b): Elo's expected score, the logistic curve of its updates."""
    models = document["models"]
    gap = [models[a]["rating"] - models[b]["rating"] for a, b in zip(model_a, model_b, strict=True)]
    return np.asarray(_expected(np.array(gap, dtype=float)), dtype=float)
