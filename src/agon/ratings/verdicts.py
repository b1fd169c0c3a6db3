"""Duel verdicts: the judges' preferences on one match folded into one score difference ``d`` in [-1, 1].

Every rating scheme reads the same verdicts, so the rules hold for all of them: a duellist never judges its own
duel, invalid verdicts are dropped (never guessed), and both presentation orders of a judge count equally.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from agon.pair_stats import TIE_TOLERANCE

DUEL_COLUMNS = ["match_id", "round", "prompt_id", "model_a", "model_b"]


def duel_verdicts(
    matches: pd.DataFrame, judgments: pd.DataFrame, weights: Mapping[str, float], tie_band: float = 0.0
) -> pd.DataFrame:
    """One row per match, in match order, with ``d = sum_j w_j p_j / sum_j w_j`` and ``n_judges``.

    ``p_j`` is judge j's mean preference over its valid orders (averaging A-B and B-A cancels position bias);
    ``w_j = weights.get(j, 1.0)``, so judges outside the population (the verifier) weigh 1. When all of a
    duel's judges weigh 0 the unweighted mean is used, so a duel is not lost to weights alone; a duel with no
    valid judge outside it gets ``d = NaN`` and ``n_judges = 0``.

    ``d`` is a tie (exactly 0) when it is 0 up to float rounding (weights 0.1, 0.2 and 0.3 on +1, +1 and -1 sum
    to 4.6e-17), and when the judges split (some for each side) and ``|d| <= tie_band``: weights then tip a
    split only when one side's judges clearly outweigh the other's, not whenever one judge rates a little higher.
    """
    if matches["match_id"].duplicated().any():
        duplicated = matches.loc[matches["match_id"].duplicated(), "match_id"].unique()[:3].tolist()
        raise ValueError(f"matches: match_id must be unique; repeated: {duplicated}")
    negative = {judge: w for judge, w in weights.items() if w < 0}
    if negative:
        raise ValueError(f"judge weights must be >= 0 (they come from ratings); got {negative}")
    unknown = sorted(set(judgments["match_id"]) - set(matches["match_id"]))
    if unknown:
        raise ValueError(f"judgments name {len(unknown)} match(es) missing from the matches table, e.g. {unknown[:3]}")

    duels = matches[DUEL_COLUMNS].reset_index(drop=True)
    # A row counts only if the judge's verdict parsed; `eq(True)` also treats a null `valid` as invalid.
    valid = judgments.loc[judgments["valid"].eq(True) & judgments["preference"].notna()]
    per_judge = (
        valid.groupby(["match_id", "judge"], as_index=False)["preference"]
        .mean()
        .merge(duels[["match_id", "model_a", "model_b"]], on="match_id")
    )
    per_judge = per_judge[(per_judge["judge"] != per_judge["model_a"]) & (per_judge["judge"] != per_judge["model_b"])]
    w = per_judge["judge"].map(dict(weights)).fillna(1.0).astype(float)
    preference = per_judge["preference"]
    sums = (
        per_judge.assign(w=w, wp=w * preference, a=preference > TIE_TOLERANCE, b=preference < -TIE_TOLERANCE)
        .groupby("match_id")
        .agg(
            w=("w", "sum"),
            wp=("wp", "sum"),
            p=("preference", "sum"),
            n_judges=("preference", "size"),
            for_a=("a", "any"),
            for_b=("b", "any"),
        )
    )
    d = (sums["wp"] / sums["w"]).where(sums["w"] > 0, sums["p"] / sums["n_judges"])
    split = sums["for_a"] & sums["for_b"]
    sums["d"] = d.mask((d.abs() <= TIE_TOLERANCE) | (split & (d.abs() <= tie_band)), 0.0)
    verdicts = duels.merge(sums[["d", "n_judges"]], left_on="match_id", right_index=True, how="left")
    return verdicts.assign(
        d=verdicts["d"].astype(float), n_judges=verdicts["n_judges"].fillna(0).astype(np.int64)
    ).reset_index(drop=True)


def model_codes(names: pd.Series, models: list[str]) -> np.ndarray:
    """Position of each name in ``models`` (-1 for a stranger).

    Factorising first hashes each distinct string once in C; looking a million names up in an index directly
    is about 7x slower on pandas' Arrow-backed strings.
    """
    codes, uniques = pd.factorize(names)
    return pd.Index(models).get_indexer(uniques)[codes] if len(uniques) else np.zeros(0, dtype=np.int64)


def rated_duels(verdicts: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """The duels a rating scheme consumes: those with a verdict, between two distinct population members."""
    duels = verdicts.loc[verdicts["d"].notna(), ["model_a", "model_b", "d"]].reset_index(drop=True)
    a, b = model_codes(duels["model_a"], models), model_codes(duels["model_b"], models)
    if (a < 0).any() or (b < 0).any():
        strangers = sorted(set(duels.loc[a < 0, "model_a"]) | set(duels.loc[b < 0, "model_b"]))
        raise ValueError(f"verdicts: duels name model(s) {strangers} outside the population {sorted(models)}")
    if (a == b).any():
        raise ValueError("verdicts: a model cannot duel itself")
    return duels
