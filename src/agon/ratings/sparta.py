"""The SPARTA "normal" rating system, hand-written: no rating library implements it.

In the authors' form each duel moves both players by ``K * (+/-d) * tanh(sigma) * max(|Phi(z) - Phi(-z)|, eps) /
scale`` with ``z = (R_a - R_b) / sqrt(sigma_a^2 + sigma_b^2)``: K decays with a player's experience, sigma is the
spread of its recent rating changes (a player still moving a lot moves more), and the normal-CDF factor scales
the step by how far apart the two ratings are. That factor is the size of the verdict a probit model of the
ratings expects, so Agon's default (``centered``) moves by the surprise ``d - (Phi(z) - Phi(-z))`` instead, with
``z = (R_a - R_b) / spread``, which gives the ratings a fixed point; ``centered: false`` is the authors' form.
Ratings are floored, as the authors floor them (their ratings were the judges' weights; Agon weighs a judge by
its expected score, ``win_probabilities``). ``Phi(z) - Phi(-z) = erf(z / sqrt(2))``, so ``math.erf`` suffices
and scipy is not needed.

Three schemes share this update and differ only in how the judges are weighed before it (see ``judge_weights``
in ``agon.ratings``): ``sparta`` by their expected scores under the previous ratings, ``sparta_dynamic`` by their
previous rank (the bottom judges silenced, then rising steps; frozen after a configured iteration),
``sparta_static`` by fixed weights.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from agon.ratings.checks import require
from agon.ratings.verdicts import rated_duels


@dataclass(frozen=True)
class SpartaConfig:
    SCHEME: ClassVar[str] = "sparta"

    # Every model starts equal, well above the floor.
    initial_rating: float = 50.0
    # Step size of a new player and the least it decays to: early duels move ratings fast, later ones still move.
    # The authors use 10 and 5; centred steps that large let the last few duels decide the order (Spearman with
    # held-out accuracy 0.24 against 0.61 for 4 and 1 on the stored judgments of docs/ablation.md's 9 runs).
    k0: float = 4.0
    k_min: float = 1.0
    # K = max(k_min, k0 * decay ** (updates / decay_steps)): K loses 10% every 10 updates of the player.
    decay: float = 0.9
    decay_steps: int = 10
    # sigma = std of the player's last `window` rating changes (at least 2 are needed for a spread).
    window: int = 10
    sigma_init: float = 1.0
    # Keeps tanh(sigma) > 0: a player whose rating has settled can still move.
    sigma_min: float = 0.1
    # Lower bound of the normal-CDF factor, which is 0 between equal ratings and would freeze them.
    eps: float = 0.01
    scale: float = 1.0
    # The authors' update multiplies the verdict by |Phi(z) - Phi(-z)|, the size of the verdict a probit model
    # of the two ratings expects; it has no fixed point, so a player that keeps winning climbs for as long as it
    # plays (measured: ratings 10 to 560 after 3 iterations of 500 duels). Centred, a duel moves the ratings by
    # the surprise ``d - (Phi(z) - Phi(-z))`` instead, with ``z = (R - R_opp) / spread``: ratings settle where
    # the verdicts match the gap, as in Elo, while K, sigma and the floor work as before.
    centered: bool = True
    # Rating points between two players one probit unit apart: a gap of `spread` expects d = 0.68 (84% : 16%).
    spread: float = 40.0
    # Lowest rating, as the authors keep one: their ratings weigh the judges, so must stay positive.
    floor: float = 10.0

    def __post_init__(self) -> None:
        # K (at least k_min), tanh(sigma), 1 / scale and 1 / spread multiply every step: <= 0 would freeze or
        # reverse the ratings. k0 needs no check: K never falls below k_min.
        start, floor = self.initial_rating, self.floor
        require(
            f"rating.{self.SCHEME}",
            {
                "k_min must be > 0": self.k_min > 0,
                "decay must be in (0, 1]": 0 < self.decay <= 1,  # > 1 grows K without bound
                "decay_steps must be >= 1": self.decay_steps >= 1,  # < 0 grows K too
                "window must be >= 2": self.window >= 2,  # one change has no spread: sigma would never move
                "sigma_init must be > 0": self.sigma_init > 0,
                "sigma_min must be > 0": self.sigma_min > 0,
                "eps must be > 0": self.eps > 0,  # 0 freezes equal ratings in the authors' form
                "scale must be > 0": self.scale > 0,
                "spread must be > 0": self.spread > 0,
                # Two keys, which the schema cannot compare: a start below the floor would jump to it at once.
                f"initial_rating {start} must be >= floor {floor}": start >= floor,
            },
        )

    @classmethod
    def from_dict(cls, cfg: dict) -> "SpartaConfig":
        return cls(**cfg)


@dataclass(frozen=True)
class SpartaDynamicConfig(SpartaConfig):
    """SPARTA with judges weighed by their rank in the previous iteration instead of their rating.

    At iteration i the ``i`` lowest-rated judges (more every iteration, as in the SPARTA authors' code) weigh
    ``0, step, 2 * step, ...`` (at most 1) and every other judge weighs 1. The weights need no normalising: a
    verdict divides by the sum of its judges' weights, so only their ratios count, and 1 for the rest is what
    gives ``step`` its meaning.
    """

    SCHEME: ClassVar[str] = "sparta_dynamic"

    # The authors' weights: the worst judge 0, the next 0.1, 0.2, ... (duel_verdicts refuses a negative weight).
    step: float = 0.1
    # The authors freeze from their 8th iteration (counted from 1) on the weights of their 7th: our iteration 6.
    freeze_after: int | None = 6


@dataclass(frozen=True)
class SpartaStaticConfig(SpartaConfig):
    """SPARTA with fixed judge weights from the config; judges not listed (the verifier, say) weigh 1."""

    SCHEME: ClassVar[str] = "sparta_static"

    # Unchecked here: duel_verdicts refuses a negative weight.
    weights: Mapping[str, float] = field(default_factory=dict)


def rank_weights(ratings: Mapping[str, float], iteration: int, cfg: SpartaDynamicConfig) -> dict[str, float]:
    """Judge weights from a ranking: the ``iteration`` lowest rated weigh ``0, step, 2 * step, ...``, the rest 1.

    Equal ratings are ranked by name, so the weights do not depend on the order of ``ratings``.
    """
    ranked = sorted(ratings, key=lambda name: (ratings[name], name))
    bottom = min(max(iteration, 0), len(ranked))
    return {name: min(1.0, rank * cfg.step) if rank < bottom else 1.0 for rank, name in enumerate(ranked)}


@dataclass
class _Player:
    rating: float
    recent_changes: list[float]
    updates: int
    history: list[float] = field(default_factory=list)

    def k(self, cfg: SpartaConfig) -> float:
        return max(cfg.k_min, cfg.k0 * cfg.decay ** (self.updates / cfg.decay_steps))

    def sigma(self, cfg: SpartaConfig) -> float:
        """Spread of the last ``window`` changes (the list never holds more)."""
        if len(self.recent_changes) < 2:
            return cfg.sigma_init
        return max(cfg.sigma_min, float(np.std(self.recent_changes)))

    def move(self, delta: float, cfg: SpartaConfig) -> None:
        # The change recorded for sigma is the one applied, after the floor.
        rating = max(cfg.floor, self.rating + delta)
        self.recent_changes = [*self.recent_changes, rating - self.rating][-cfg.window :]
        self.rating = rating
        self.updates += 1
        self.history.append(rating)


def _start(name: str, state: dict | None, cfg: SpartaConfig) -> _Player:
    """The player as the previous iteration left it, or a newcomer at ``initial_rating``."""
    previous = (state or {}).get("models", {}).get(name)
    if previous is None:
        return _Player(cfg.initial_rating, [], 0)
    return _Player(
        float(previous["rating"]), [float(c) for c in previous["recent_changes"]][-cfg.window :], previous["updates"]
    )


def fit_sparta(verdicts: pd.DataFrame, state: dict | None, models: list[str], cfg: SpartaConfig) -> dict:
    """Run the iteration's duels in match order from ``state`` (the previous document, or None) and document them.

    Both players' steps are computed from the pre-duel state, so neither side of a duel sees the other's update.
    Duels without a verdict (``d`` NaN) are skipped.
    """
    players = {name: _start(name, state, cfg) for name in models}
    duels = rated_duels(verdicts, models)
    for name_a, name_b, d in duels.itertuples(index=False, name=None):
        a, b = players[name_a], players[name_b]
        sigma_a, sigma_b = a.sigma(cfg), b.sigma(cfg)
        if cfg.centered:
            step = d - math.erf((a.rating - b.rating) / cfg.spread / math.sqrt(2))
        else:
            z = (a.rating - b.rating) / math.sqrt(sigma_a**2 + sigma_b**2)
            step = d * max(abs(math.erf(z / math.sqrt(2))), cfg.eps)
        delta_a = a.k(cfg) * step * math.tanh(sigma_a) / cfg.scale
        delta_b = -b.k(cfg) * step * math.tanh(sigma_b) / cfg.scale
        a.move(delta_a, cfg)
        b.move(delta_b, cfg)
    return {
        "scheme": cfg.SCHEME,
        "params": asdict(cfg),
        "models": {
            name: {
                "rating": p.rating,
                "uncertainty": p.sigma(cfg),
                "matches": len(p.history),
                "updates": p.updates,
                "recent_changes": p.recent_changes,
                "history": p.history,
            }
            for name, p in players.items()
        },
        "duels": len(duels),
    }


def win_probabilities(document: dict, model_a: Sequence[str], model_b: Sequence[str]) -> np.ndarray:
    """P(a beats b) = Phi((R_a - R_b) / spread): the probit model the centred update settles to, whose expected
    verdict ``Phi(z) - Phi(-z)`` is ``2 P - 1``."""
    models, spread = document["models"], document["params"]["spread"]
    gap = np.array([models[a]["rating"] - models[b]["rating"] for a, b in zip(model_a, model_b, strict=True)])
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[float])(gap / spread / math.sqrt(2)))
