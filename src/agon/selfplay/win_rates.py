"""Each answer's win rate against its own policy, from the ranker's verdicts on the comparisons.

A ranker (any judge) compares every unordered pair of a policy's samples; the verdict ``d_ij`` of a comparison is
folded from its judges exactly as a duel's is (``ratings.verdicts.duel_verdicts``: invalid verdicts dropped, each
judge's orders averaged, then the judges). ``P(i beats j) = (1 + d_ij) / 2`` and an answer's win rate against the
policy, ``P(y_i > pi)``, is the mean of ``P(i beats j)`` over the other samples j: SPPO's estimate from K samples,
without the self-comparison (SPPO's ``compute_prob.py`` also averages in the diagonal's 0.5).
"""

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import JUDGMENTS, MATCHES, WIN_RATES, read_table, read_tables, write_table
from agon.files import write_json
from agon.pair_stats import TIE_TOLERANCE, mean_or_none
from agon.ratings.verdicts import duel_verdicts
from agon.selfplay.comparisons import check_k, is_within

logger = logging.getLogger(__name__)

RATE_COLUMNS = WIN_RATES.columns


def win_rate_vs_previous(matches: pd.DataFrame, judgments: pd.DataFrame) -> dict[str, dict]:
    """Per model, P(current policy's answer beats the previous policy's), from the cross comparisons' verdicts.

    A verdict d gives (1 + d) / 2 as in ``win_rates``; ``compared`` counts the comparisons with one.
    """
    cross = matches.loc[~is_within(matches)]
    if cross.empty:
        return {}
    verdicts = duel_verdicts(cross, judgments[judgments["match_id"].isin(cross["match_id"])], {})
    verdicts = verdicts.dropna(subset=["d"])
    result = {}
    for model in cross["model_a"].unique():
        mine = verdicts.loc[verdicts["model_a"] == model, "d"]
        result[model] = {"win_rate": mean_or_none((1 + mine) / 2), "compared": len(mine)}
    return result


def win_matrix(matches: pd.DataFrame, judgments: pd.DataFrame, k: int) -> dict[tuple[str, str], np.ndarray]:
    """(model, prompt_id) -> the K x K matrix ``P[i, j] = P(i beats j)``; diagonal 0.5, NaN without a verdict."""
    keys, wins = _win_tensor(matches, judgments, k)
    return {(m, p): wins[g] for g, (m, p) in enumerate(zip(keys["model"], keys["prompt_id"], strict=True))}


def win_rates(matches: pd.DataFrame, judgments: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per (model, prompt_id, sample): ``win_rate`` = P(y > pi) and ``compared`` = other samples with a verdict.

    The win rate averages the win matrix's row over the other samples that have a verdict; a sample with none gets
    NaN (unknown, never 0.5). Rows follow the matches' order of (model, prompt_id), then sample.
    """
    keys, wins = _win_tensor(matches, judgments, k)
    known = ~np.isnan(wins) & ~np.eye(k, dtype=bool)
    compared = known.sum(axis=2)
    total = np.where(known, wins, 0.0).sum(axis=2)
    rate = np.divide(total, compared, out=np.full(total.shape, np.nan), where=compared > 0)
    return pd.DataFrame(
        {
            "model": np.repeat(keys["model"].to_numpy(dtype=object), k),
            "prompt_id": np.repeat(keys["prompt_id"].to_numpy(dtype=object), k),
            "sample": np.tile(np.arange(k, dtype=np.int64), len(keys)),
            "win_rate": rate.ravel(),
            "compared": compared.ravel().astype(np.int64),
        },
        columns=RATE_COLUMNS,
    )


def _win_tensor(matches: pd.DataFrame, judgments: pd.DataFrame, k: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The (model, prompt_id) groups in matches order and their win matrices stacked as a (G, K, K) array."""
    check_k(k)
    _check_comparisons(matches, k)
    verdicts = duel_verdicts(matches, judgments, {})
    group, keys = pd.MultiIndex.from_arrays([matches["model_a"], matches["prompt_id"]]).factorize()
    wins = np.full((len(keys), k, k), np.nan)
    wins[:, np.arange(k), np.arange(k)] = 0.5
    decided = verdicts["d"].notna().to_numpy()
    g = group[decided]
    a = matches["sample_a"].to_numpy(dtype=np.int64)[decided]
    b = matches["sample_b"].to_numpy(dtype=np.int64)[decided]
    p = (1.0 + verdicts["d"].to_numpy(dtype=float)[decided]) / 2.0
    wins[g, a, b] = p
    wins[g, b, a] = 1.0 - p
    return pd.DataFrame({"model": keys.get_level_values(0), "prompt_id": keys.get_level_values(1)}), wins


def _check_comparisons(matches: pd.DataFrame, k: int) -> None:
    """Reject a matches table that is not a set of distinct comparisons between one policy's K samples."""
    missing = [c for c in ("sample_a", "sample_b") if c not in matches.columns]
    if missing:
        raise ValueError(f"selfplay: matches lack column(s) {missing}; selfplay matches come from comparisons()")
    if (matches["model_a"] != matches["model_b"]).any():
        raise ValueError("selfplay: a comparison is between two samples of one policy (model_a == model_b)")
    a, b = matches["sample_a"].to_numpy(), matches["sample_b"].to_numpy()
    if ((a < 0) | (a >= k) | (b < 0) | (b >= k)).any():
        raise ValueError(f"selfplay: sample_a and sample_b must lie in [0, {k}) for k={k}")
    if (a == b).any():
        raise ValueError("selfplay: a sample cannot be compared with itself (sample_a == sample_b)")
    pair = pd.DataFrame(
        {"model": matches["model_a"], "prompt_id": matches["prompt_id"], "i": np.minimum(a, b), "j": np.maximum(a, b)}
    )
    if pair.duplicated().any():
        repeated = matches.loc[pair.duplicated().to_numpy(), "match_id"].tolist()[:3]
        raise ValueError(
            f"selfplay: each pair of samples is compared once (in both orders by the judges); repeated: {repeated}"
        )


def rate_summary(rates: pd.DataFrame, versus_previous: Mapping[str, dict]) -> dict:
    """Per model: how well the ranker told its answers apart, and its win rate against the previous policy (the
    selfplay iteration's ratings document)."""
    models = {}
    for model, group in rates.groupby("model", sort=False):
        spread = group.groupby("prompt_id")["win_rate"].agg(lambda w: w.max() - w.min())
        models[model] = {
            "answers": len(group),
            "rated_answers": int(group["win_rate"].notna().sum()),
            "prompts": int(group["prompt_id"].nunique()),
            # A prompt whose answers all win equally often gives no pair: the ranker saw no difference.
            "prompts_told_apart": int((spread > TIE_TOLERANCE).sum()),
            "mean_win_rate_spread": mean_or_none(spread.dropna()),
            "win_rate_vs_previous": versus_previous.get(model, {}).get("win_rate"),
            "compared_with_previous": versus_previous.get(model, {}).get("compared", 0),
        }
    return {"protocol": "selfplay", "models": models}


def write_win_rates(
    matches_path: str | Path, judgment_paths: list[str | Path], rates_path: str | Path, summary_path: str | Path, k: int
) -> None:
    """Each answer's win rate against its policy, from the signal judge's verdicts, and their summary."""
    matches, judgments = read_table(matches_path, MATCHES), read_tables(judgment_paths, JUDGMENTS)
    within = matches.loc[is_within(matches)]
    rates = win_rates(within, judgments[judgments["match_id"].isin(within["match_id"])], k)
    write_table(rates, rates_path, WIN_RATES)
    summary = rate_summary(rates, win_rate_vs_previous(matches, judgments))
    write_json(summary, summary_path)
    for model, entry in summary["models"].items():
        logger.info(
            "%s: %d of %d prompts told apart; win rate against the previous policy %s",
            model,
            entry["prompts_told_apart"],
            entry["prompts"],
            entry["win_rate_vs_previous"],
        )
