"""Weng-Lin Bayesian online ratings (Weng and Lin, JMLR 2011: TrueSkill's idea, without its patent), via openskill.

A library does the work: ``openskill`` (MIT, compiled wheels, no dependencies) implements Weng and Lin's update
rules. This module only replays the duels through it and documents the result. Each model's skill is a normal
belief N(mu, sigma^2): a duel moves the winner's mu up and the loser's down, by more the less sure the beliefs
are, and shrinks both sigmas; ``tau`` adds a little variance back before each duel, so a model that keeps
changing (as trained models do) can still move. Only the sign of a verdict counts; a tie is a draw.

The document's ``rating`` is mu and its ``uncertainty`` sigma; the next iteration continues from them.
``ci_low``/``ci_high`` are the central ``ci`` interval of the belief, mu -/+ z sigma.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from openskill.models import BradleyTerryFull, PlackettLuce, ThurstoneMostellerFull

from agon.ratings.checks import require
from agon.ratings.verdicts import rated_duels

# The Weng-Lin models that score a two-player game; the full-pairing ones rate every pair of a multi-team game.
MODELS = {
    "bradley_terry_full": BradleyTerryFull,
    "plackett_luce": PlackettLuce,
    "thurstone_mosteller_full": ThurstoneMostellerFull,
}
ORDERS = ("match", "shuffled")


@dataclass(frozen=True)
class WengLinConfig:
    # Logistic win probabilities between pairs, like Elo and Bradley-Terry.
    model: str = "bradley_terry_full"
    # openskill's defaults, TrueSkill's scale: mu 25, sigma mu / 3, beta sigma / 2 (the skill gap of ~76% wins),
    # tau mu / 300 (the variance added back per duel).
    mu: float = 25.0
    sigma: float = 25.0 / 3
    beta: float = 25.0 / 6
    tau: float = 25.0 / 300
    # Online, so order matters, as for Elo: the matches' own order, or a seeded shuffle.
    order: str = "match"
    ci: float = 0.95

    def __post_init__(self) -> None:
        # An unknown model fails loudly in system(); openskill squares beta and tau, so their sign cannot matter.
        require(
            "rating.weng_lin",
            {
                "sigma must be > 0": self.sigma > 0,  # < 0 documents a model without duels with an inverted interval
                # fit_weng_lin shuffles on "shuffled" only: a misspelt order would silently replay in match order.
                f"order must be one of {list(ORDERS)}, got {self.order!r}": self.order in ORDERS,
                "ci must be in (0, 1)": 0 < self.ci < 1,  # <= 0 gives an empty or inverted interval
            },
        )

    @classmethod
    def from_dict(cls, cfg: dict) -> "WengLinConfig":
        return cls(**cfg)

    def system(self) -> BradleyTerryFull | PlackettLuce | ThurstoneMostellerFull:
        """The openskill model these parameters describe."""
        return MODELS[self.model](mu=self.mu, sigma=self.sigma, beta=self.beta, tau=self.tau)


def fit_weng_lin(
    verdicts: pd.DataFrame, state: dict | None, models: list[str], cfg: WengLinConfig, seed: int = 0
) -> dict:
    """Replay the iteration's duels through openskill from ``state`` (the previous document, or None)."""
    system = cfg.system()
    previous = (state or {}).get("models", {})
    players = {
        m: system.rating(mu=previous[m]["rating"], sigma=previous[m]["uncertainty"], name=m)
        if m in previous
        else system.rating(name=m)
        for m in models
    }
    updates = {m: previous[m]["updates"] if m in previous else 0 for m in models}
    history: dict[str, list[float]] = {m: [] for m in models}
    duels = rated_duels(verdicts, models)
    if cfg.order == "shuffled":
        duels = duels.iloc[np.random.default_rng(seed).permutation(len(duels))]
    for a, b, d in duels.itertuples(index=False, name=None):
        # openskill ranks: lower is better, equal is a draw.
        ranks = [0, 1] if d > 0 else [1, 0] if d < 0 else [0, 0]
        [[players[a]], [players[b]]] = system.rate([[players[a]], [players[b]]], ranks=ranks)
        for m in (a, b):
            updates[m] += 1
            history[m].append(players[m].mu)
    z = NormalDist().inv_cdf((1 + cfg.ci) / 2)
    return {
        "scheme": "weng_lin",
        "params": asdict(cfg),
        "models": {
            m: {
                "rating": players[m].mu,
                "uncertainty": players[m].sigma,
                "ci_low": players[m].mu - z * players[m].sigma,
                "ci_high": players[m].mu + z * players[m].sigma,
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
    """P(a beats b) as openskill predicts it from both beliefs (their sigmas widen the curve)."""
    system = WengLinConfig.from_dict(document["params"]).system()
    models = document["models"]

    def player(name: str):  # an openskill rating object of the document's model
        return system.rating(mu=models[name]["rating"], sigma=models[name]["uncertainty"])

    pairs = zip(model_a, model_b, strict=True)
    return np.array([system.predict_win([[player(a)], [player(b)]])[0] for a, b in pairs], dtype=float)
