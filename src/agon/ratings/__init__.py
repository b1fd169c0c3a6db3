"""The rate stage: the iteration's judgments folded into duel verdicts, and the verdicts into ratings.

Every scheme writes the same document, ``iter_<i>/ratings/<scheme>.json``::

    {"scheme": ..., "params": {...}, "duels": int,
     "models": {name: {"rating", "uncertainty", "matches", "updates", "recent_changes", "history"}}}

and continues from its own document of the previous iteration, whose ratings also weigh the judges.
"""

import logging
from pathlib import Path

import pandas as pd

from agon.contracts import JUDGMENTS, MATCHES, read_table
from agon.files import read_json, write_json
from agon.ratings.elo import EloConfig, fit_elo
from agon.ratings.sparta import SpartaConfig, fit_sparta
from agon.ratings.verdicts import duel_verdicts

__all__ = [
    "SCHEMES",
    "EloConfig",
    "SpartaConfig",
    "duel_verdicts",
    "fit_elo",
    "fit_ratings",
    "fit_sparta",
    "rate_iteration",
    "rating_config",
    "ratings_of",
]

logger = logging.getLogger(__name__)

SCHEMES = ("sparta", "elo")


def rating_config(scheme: str, params: dict) -> SpartaConfig | EloConfig:
    """The config of ``scheme`` built from its sub-dict of the validated config (``rating.<scheme>``)."""
    match scheme:
        case "sparta":
            return SpartaConfig.from_dict(params)
        case "elo":
            return EloConfig.from_dict(params)
        case other:
            raise ValueError(f"rating.scheme: unknown scheme {other!r}; expected one of {list(SCHEMES)}")


def fit_ratings(
    scheme: str, verdicts: pd.DataFrame, state: dict | None, models: list[str], params: dict, seed: int
) -> dict:
    """The rating document of ``scheme`` after the iteration's verdicts, continued from ``state``."""
    match rating_config(scheme, params):
        case SpartaConfig() as cfg:
            return fit_sparta(verdicts, state, models, cfg)
        case EloConfig() as cfg:
            return fit_elo(verdicts, state, models, cfg, seed=seed)


def ratings_of(document: dict) -> dict[str, float]:
    """Name -> rating: what matchmaking, judge weights and pairs read from a document."""
    return {name: entry["rating"] for name, entry in document["models"].items()}


def rate_iteration(
    matches_path: str | Path,
    judgment_paths: list[str | Path],
    previous_path: str | Path | None,
    out_path: str | Path,
    scheme: str,
    params: dict,
    models: list[str],
    seed: int,
) -> dict:
    """Rate one iteration's matches and write the document; judges weigh by their previous ratings (else 1)."""
    if not judgment_paths:
        raise ValueError("rate_iteration: no judgment files; every match needs judges")
    matches = read_table(matches_path, MATCHES)
    judgments = pd.concat([read_table(p, JUDGMENTS) for p in judgment_paths], ignore_index=True)
    state = read_json(previous_path) if previous_path is not None else None
    if state is not None and state["scheme"] != scheme:
        raise ValueError(f"{previous_path}: holds {state['scheme']!r} ratings, cannot continue them as {scheme!r}")
    weights = ratings_of(state) if state is not None else dict.fromkeys(models, 1.0)
    verdicts = duel_verdicts(matches, judgments, weights)
    document = fit_ratings(scheme, verdicts, state, models, params, seed)
    write_json(document, out_path)
    logger.info(
        "%s: %d of %d duels rated; %s",
        scheme,
        document["duels"],
        len(verdicts),
        ", ".join(f"{name} {rating:.2f}" for name, rating in sorted(ratings_of(document).items())),
    )
    return document
