"""Matchmaking for tribe combat: who duels whom on which instruction.

Per round the models are shuffled; each in turn takes the next instruction and an opponent: with probability
``random_match_prob`` a uniformly random other model (exploration, and every pair keeps meeting), otherwise a
random one of the ``num_opponents`` models closest in rating (informative duels between near equals).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import MATCHES, PROMPTS, read_table, write_table
from agon.files import read_json


@dataclass(frozen=True)
class MatchmakingConfig:
    random_match_prob: float = 0.6
    num_opponents: int = 2

    def __post_init__(self) -> None:
        if not 0.0 <= self.random_match_prob <= 1.0:
            raise ValueError(f"tribe.random_match_prob must be in [0, 1], got {self.random_match_prob}")
        if self.num_opponents < 1:
            raise ValueError(f"tribe.num_opponents must be >= 1, got {self.num_opponents}")

    @classmethod
    def from_dict(cls, cfg: dict) -> "MatchmakingConfig":
        return cls(random_match_prob=cfg["random_match_prob"], num_opponents=cfg["num_opponents"])


def pick_opponent(
    model: str, models: list[str], ratings: Mapping[str, float], cfg: MatchmakingConfig, rng: np.random.Generator
) -> str:
    others = [m for m in models if m != model]
    if rng.random() < cfg.random_match_prob:
        return str(rng.choice(others))
    # Shuffle first so that equally close opponents are picked at random, not by name.
    shuffled = [others[i] for i in rng.permutation(len(others))]
    closest = sorted(shuffled, key=lambda m: abs(ratings[m] - ratings[model]))[: cfg.num_opponents]
    return str(rng.choice(closest))


def make_matches(
    prompts: pd.DataFrame,
    models: list[str],
    ratings: Mapping[str, float],
    cfg: MatchmakingConfig,
    *,
    iteration: int,
    seed: int,
) -> pd.DataFrame:
    """One match per prompt, in prompt order, following the rounds described in the module docstring."""
    if len(models) < 2:
        raise ValueError(f"tribe matchmaking needs at least 2 models, got {models}")
    missing = [m for m in models if m not in ratings]
    if missing:
        raise ValueError(f"no rating for model(s) {missing}")
    rng = np.random.default_rng(seed)
    rows = []
    order: list[str] = []
    for k, prompt in enumerate(prompts.itertuples(index=False)):
        if not order:
            order = [models[i] for i in rng.permutation(len(models))]
        model = order.pop(0)
        rows.append(
            {
                "match_id": f"it{iteration}-m{k:05d}",
                "round": k // len(models),
                "prompt_id": prompt.prompt_id,
                "prompt": prompt.prompt,
                "reference": prompt.reference,
                "model_a": model,
                "model_b": pick_opponent(model, models, ratings, cfg, rng),
            }
        )
    return pd.DataFrame(rows, columns=MATCHES.columns)


def schedule_matches(
    prompts_path: str | Path,
    previous_ratings_path: str | Path | None,
    out_path: str | Path,
    models: list[str],
    initial_ratings: Mapping[str, float],
    cfg: MatchmakingConfig,
    *,
    iteration: int,
    seed: int,
) -> None:
    """Write the iteration's matches, pairing by the previous iteration's ratings (or the initial ones).

    Initial ratings serve matchmaking only, so they are scheme-free: models left out get the mean of the
    given ones (with none given, all models are equal). Changing rating.scheme then never re-runs iteration 0's
    matches, generations or judgments.
    """
    given = dict(initial_ratings)
    start = sum(given.values()) / len(given) if given else 0.0
    ratings = {m: given.get(m, start) for m in models}
    if previous_ratings_path is not None:
        document = read_json(previous_ratings_path)
        ratings.update({name: entry["rating"] for name, entry in document["models"].items()})
    matches = make_matches(read_table(prompts_path, PROMPTS), models, ratings, cfg, iteration=iteration, seed=seed)
    write_table(matches, out_path, MATCHES)


def duel_prompts(matches: pd.DataFrame, model: str) -> pd.DataFrame:
    """The prompts ``model`` must answer: only those of its own duels (as A or as B)."""
    mine = matches[(matches["model_a"] == model) | (matches["model_b"] == model)]
    return pd.DataFrame(
        {
            "prompt_id": mine["prompt_id"].to_numpy(),
            "prompt": mine["prompt"].to_numpy(),
            "reference": mine["reference"].to_numpy(),
            "split": "preference",
        }
    ).drop_duplicates("prompt_id", ignore_index=True)


def write_duel_prompts(matches_path: str | Path, out_path: str | Path, model: str) -> None:
    write_table(duel_prompts(read_table(matches_path, MATCHES), model), out_path, PROMPTS)
