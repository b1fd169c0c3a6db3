"""The rate stage: the iteration's judgments folded into duel verdicts, and the verdicts into ratings.

Every scheme writes the same document, ``iter_<i>/ratings/<scheme>.json``::

    {"scheme": ..., "params": {...}, "duels": int, "judge_weights": {judge: weight}, "tie_band": float,
     "models": {name: {"rating", "uncertainty", "matches", "updates", "recent_changes", "history"}}}

with ``ci_low`` and ``ci_high`` per model where the scheme has intervals (``bradley_terry``, ``weng_lin``,
``win_rate``), and continues from its own document of the previous iteration. That document also weighs the
judges (``judge_weights``): by their expected scores under its ratings, by their rank (``sparta_dynamic``) or by
the config (``sparta_static``). docs/ratings.md describes every scheme.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import JUDGMENTS, MATCHES, read_table, read_tables
from agon.files import read_json, write_json
from agon.ratings import bradley_terry, elo, sparta, weng_lin, win_rate
from agon.ratings.bradley_terry import BradleyTerryConfig, fit_bradley_terry
from agon.ratings.elo import EloConfig, fit_elo
from agon.ratings.sparta import SpartaConfig, SpartaDynamicConfig, SpartaStaticConfig, fit_sparta, rank_weights
from agon.ratings.verdicts import duel_verdicts
from agon.ratings.weng_lin import WengLinConfig, fit_weng_lin
from agon.ratings.win_rate import WinRateConfig, fit_win_rate

__all__ = [
    "SCHEMES",
    "WEIGHTINGS",
    "BradleyTerryConfig",
    "EloConfig",
    "RatingConfig",
    "SpartaConfig",
    "SpartaDynamicConfig",
    "SpartaStaticConfig",
    "WengLinConfig",
    "WinRateConfig",
    "audit_quality",
    "duel_verdicts",
    "expected_scores",
    "fit_bradley_terry",
    "fit_elo",
    "fit_ratings",
    "fit_sparta",
    "fit_weng_lin",
    "fit_win_rate",
    "judge_weights",
    "rate_iteration",
    "rating_config",
    "ratings_of",
    "weigh_by_audit",
    "win_probabilities",
]

logger = logging.getLogger(__name__)

SCHEMES = ("sparta", "sparta_dynamic", "sparta_static", "elo", "bradley_terry", "weng_lin", "win_rate")

RatingConfig = (
    SpartaConfig
    | SpartaDynamicConfig
    | SpartaStaticConfig
    | EloConfig
    | BradleyTerryConfig
    | WengLinConfig
    | WinRateConfig
)


def rating_config(scheme: str, params: dict) -> RatingConfig:
    """The config of ``scheme`` built from its sub-dict of the validated config (``rating.<scheme>``)."""
    match scheme:
        case "sparta":
            return SpartaConfig.from_dict(params)
        case "sparta_dynamic":
            return SpartaDynamicConfig.from_dict(params)
        case "sparta_static":
            return SpartaStaticConfig.from_dict(params)
        case "elo":
            return EloConfig.from_dict(params)
        case "bradley_terry":
            return BradleyTerryConfig.from_dict(params)
        case "weng_lin":
            return WengLinConfig.from_dict(params)
        case "win_rate":
            return WinRateConfig.from_dict(params)
        case other:
            raise ValueError(f"rating.scheme: unknown scheme {other!r}; expected one of {list(SCHEMES)}")


def fit_ratings(
    scheme: str, verdicts: pd.DataFrame, state: dict | None, models: list[str], params: dict, seed: int
) -> dict:
    """The rating document of ``scheme`` after the iteration's verdicts, continued from ``state``."""
    match rating_config(scheme, params):
        case SpartaConfig() as cfg:  # and its dynamic and static variants: the same update
            return fit_sparta(verdicts, state, models, cfg)
        case EloConfig() as cfg:
            return fit_elo(verdicts, state, models, cfg, seed=seed)
        case BradleyTerryConfig() as cfg:
            return fit_bradley_terry(verdicts, state, models, cfg, seed=seed)
        case WengLinConfig() as cfg:
            return fit_weng_lin(verdicts, state, models, cfg, seed=seed)
        case WinRateConfig() as cfg:
            return fit_win_rate(verdicts, state, models, cfg)


def win_probabilities(document: dict, model_a: Sequence[str], model_b: Sequence[str]) -> np.ndarray:
    """P(a beats b) for each pair, as the document's own scheme predicts it from its ratings."""
    match rating_config(document["scheme"], document["params"]):
        case SpartaConfig():
            return sparta.win_probabilities(document, model_a, model_b)
        case EloConfig():
            return elo.win_probabilities(document, model_a, model_b)
        case BradleyTerryConfig():
            return bradley_terry.win_probabilities(document, model_a, model_b)
        case WengLinConfig():
            return weng_lin.win_probabilities(document, model_a, model_b)
        case WinRateConfig():
            return win_rate.win_probabilities(document, model_a, model_b)


def expected_scores(document: dict) -> dict[str, float]:
    """Each model's mean chance to beat another model of the document, as the scheme predicts it (0.5 alone).

    A rating's offset and unit are conventions of its scheme (Elo's 1000 and 400, SPARTA's 50 and spread): a
    chance to win is the same number under any of them, so it is what a judge's reputation is measured in.
    """
    names = sorted(document["models"])
    if len(names) < 2:
        return dict.fromkeys(names, 0.5)
    a, b = zip(*[(x, y) for x in names for y in names if x != y], strict=True)
    chances = pd.Series(win_probabilities(document, a, b), index=list(a)).groupby(level=0).mean()
    return {name: float(chances[name]) for name in names}


def judge_weights(scheme: str, previous_document: dict | None, params: dict, iteration: int) -> dict[str, float]:
    """The weight of each judge in iteration ``iteration``'s verdicts; judges left out weigh 1.

    - ``sparta_static``: the configured ``weights``, every iteration.
    - ``sparta_dynamic``: by rank in ``previous_document`` (``sparta.rank_weights``: the ``iteration`` lowest
      weigh 0, step, 2 step, ...; the rest 1); after ``freeze_after``, the weights the previous document used.
    - every other scheme: the judge's expected score in ``previous_document`` (``expected_scores``), which does
      not move when the scheme's base or scale does.

    Without a previous document (iteration 0) every judge weighs 1, except under static weights.
    """
    cfg = rating_config(scheme, params)
    if isinstance(cfg, SpartaStaticConfig):
        return dict(cfg.weights)
    if previous_document is None:
        return {}
    if isinstance(cfg, SpartaDynamicConfig):
        if cfg.freeze_after is not None and iteration > cfg.freeze_after:
            if "judge_weights" not in previous_document:
                raise ValueError(
                    f"rating.sparta_dynamic: iteration {iteration} keeps the weights frozen after iteration "
                    f"{cfg.freeze_after}, but the previous document records none (judge_weights)"
                )
            return dict(previous_document["judge_weights"])
        return rank_weights(ratings_of(previous_document), iteration, cfg)
    return expected_scores(previous_document)


WEIGHTINGS = ("reputation", "audit", "both")


def audit_quality(audit: dict) -> dict[str, float]:
    """Judge name -> (1 - parse_failure_rate) * (1 - order_flip_rate), from a judge audit (judging/audit.py).

    A label-free quality: a judge that often fails to answer, or that changes its verdict when the answers swap
    places, is trusted less; a metric that does not apply (one presentation order) counts as perfect.
    """
    quality = {}
    for key, entry in audit["judges"].items():
        _, judge = key.split("/", 1)
        if judge == "*":
            continue
        failures, flips = entry.get("parse_failure_rate") or 0.0, entry.get("order_flip_rate") or 0.0
        quality[judge] = (1.0 - failures) * (1.0 - flips)
    return quality


def weigh_by_audit(weights: dict[str, float], quality: dict[str, float], weighting: str) -> dict[str, float]:
    """``weights`` (reputation; judges left out weigh 1) replaced by, or multiplied with, the audit quality."""
    match weighting:
        case "reputation":
            return weights
        case "audit":
            return {**weights, **quality}
        case "both":
            return {**weights, **{judge: weights.get(judge, 1.0) * q for judge, q in quality.items()}}
        case other:
            raise ValueError(f"rating.judge_weighting: unknown weighting {other!r}; expected one of {WEIGHTINGS}")


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
    *,
    iteration: int = 0,
    audit_path: str | Path | None = None,
    weighting: str = "reputation",
    tie_band: float = 0.0,
) -> dict:
    """Rate iteration ``iteration``'s matches and write the document, its judges weighed by ``judge_weights``
    (and by the previous iteration's judge audit at ``audit_path``, as ``weighting`` says), a split within
    ``tie_band`` a tie (``duel_verdicts``); the document records both, for the pairs made from the same verdicts."""
    if not judgment_paths:
        raise ValueError("rate_iteration: no judgment files; every match needs judges")
    matches = read_table(matches_path, MATCHES)
    judgments = read_tables(judgment_paths, JUDGMENTS)
    state = read_json(previous_path) if previous_path is not None else None
    if state is not None and state["scheme"] != scheme:
        raise ValueError(f"{previous_path}: holds {state['scheme']!r} ratings, cannot continue them as {scheme!r}")
    weights = judge_weights(scheme, state, params, iteration)
    if weighting != "reputation" and audit_path is not None:
        weights = weigh_by_audit(weights, audit_quality(read_json(audit_path)), weighting)
    verdicts = duel_verdicts(matches, judgments, weights, tie_band)
    document = {
        **fit_ratings(scheme, verdicts, state, models, params, seed),
        "judge_weights": weights,
        "tie_band": tie_band,
    }
    write_json(document, out_path)
    logger.info(
        "%s: %d of %d duels rated; %s",
        scheme,
        document["duels"],
        len(verdicts),
        ", ".join(f"{name} {rating:.2f}" for name, rating in sorted(ratings_of(document).items())),
    )
    return document
