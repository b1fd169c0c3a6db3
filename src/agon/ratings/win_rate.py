"""Win rate: each model's share of its duels won, a tie counting half, with a Wilson score interval.

Hand-written: it is a ratio and a closed-form interval, no library needed. The Wilson interval (rather than
p -/+ z se) stays inside [0, 1] and keeps a width at 0 or 100% wins. A win rate ignores whom a model beat, so it
is fair only when every model meets a similar field; Bradley-Terry corrects for the opponents.
"""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from agon.ratings.checks import require
from agon.ratings.verdicts import rated_duels


@dataclass(frozen=True)
class WinRateConfig:
    ci: float = 0.95
    # As for Bradley-Terry: models change every iteration, so by default only the iteration's duels count.
    accumulate: bool = False

    def __post_init__(self) -> None:
        # <= 0 gives an empty or inverted interval.
        require("rating.win_rate", {f"ci must be in (0, 1), got {self.ci}": 0 < self.ci < 1})

    @classmethod
    def from_dict(cls, cfg: dict) -> "WinRateConfig":
        return cls(**cfg)


def wilson_interval(score: float, n: int, z: float) -> tuple[float, float]:
    """The Wilson score interval of a rate ``score / n`` (``score`` may hold half wins)."""
    p = score / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def fit_win_rate(verdicts: pd.DataFrame, state: dict | None, models: list[str], cfg: WinRateConfig) -> dict:
    """Count each model's wins, ties and losses (plus the previous document's if ``accumulate``) and document them.

    A model without a duel has rating 0.5 and no uncertainty or interval; otherwise ``uncertainty`` is the
    standard error ``sqrt(p (1 - p) / n)``.
    """
    duels = rated_duels(verdicts, models)
    sign = np.sign(duels["d"].to_numpy(dtype=float))
    outcomes = pd.DataFrame(
        {
            "model": pd.concat([duels["model_a"], duels["model_b"]], ignore_index=True),
            "wins": np.concatenate([sign > 0, sign < 0]),
            "ties": np.concatenate([sign == 0, sign == 0]),
            "losses": np.concatenate([sign < 0, sign > 0]),
        }
    )
    counts = outcomes.groupby("model")[["wins", "ties", "losses"]].sum().reindex(models, fill_value=0).astype(int)
    previous = (state or {}).get("models", {})
    z = NormalDist().inv_cdf((1 + cfg.ci) / 2)
    entries = {}
    for name in models:
        wins, ties, losses = (int(counts.at[name, k]) for k in ("wins", "ties", "losses"))
        matches = wins + ties + losses
        if cfg.accumulate and name in previous:
            wins, ties, losses = (
                wins + previous[name]["wins"],
                ties + previous[name]["ties"],
                losses + previous[name]["losses"],
            )
        n = wins + ties + losses
        rate = (wins + ties / 2) / n if n else 0.5
        low, high = wilson_interval(wins + ties / 2, n, z) if n else (None, None)
        entries[name] = {
            "rating": rate,
            "uncertainty": math.sqrt(rate * (1 - rate) / n) if n else None,
            "ci_low": low,
            "ci_high": high,
            "matches": matches,
            "updates": previous.get(name, {}).get("updates", 0) + matches,
            "recent_changes": [],
            "history": [rate] if n else [],
            "wins": wins,
            "ties": ties,
            "losses": losses,
        }
    return {"scheme": "win_rate", "params": asdict(cfg), "models": entries, "duels": len(duels)}


def win_probabilities(document: dict, model_a: Sequence[str], model_b: Sequence[str]) -> np.ndarray:
    """P(a beats b) = r_a / (r_a + r_b), Bradley-Terry's ratio of strengths with win rates as strengths (0.5 at 0/0)."""
    models = document["models"]
    rates = np.array([[models[a]["rating"], models[b]["rating"]] for a, b in zip(model_a, model_b, strict=True)])
    if not len(rates):
        return np.empty(0)
    total = rates.sum(axis=1)
    return np.divide(rates[:, 0], total, out=np.full(len(rates), 0.5), where=total > 0)
