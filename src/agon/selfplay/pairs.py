"""Selfplay's preference pairs: per model and prompt, two of its answers picked by their win rates.

``candidate_pairs`` picks one pair per (model, prompt) by the strategy and says why it is dropped; the pairs kept
train the model that wrote both answers, and ``pair_stats`` writes what they are made of (agon.pair_stats).
"""

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import (
    GENERATIONS,
    JUDGMENTS,
    MATCHES,
    PAIR_STATS,
    PAIRS,
    WIN_RATES,
    read_table,
    read_tables,
    write_document,
    write_table,
)
from agon.pair_stats import TIE_TOLERANCE, mean_or_none, pair_stats_document
from agon.selfplay.comparisons import is_within
from agon.selfplay.win_rates import win_matrix

logger = logging.getLogger(__name__)

STRATEGIES = ("max_min", "max_random", "random")
# Why a (model, prompt) gives no pair, checked in this order; "" when it gives one.
DROP_REASONS = ("unknown", "identical", "tied", "below_margin", "weak_verdict")
CANDIDATE_COLUMNS = [
    "model",
    "prompt_id",
    "prompt",
    "chosen_sample",
    "rejected_sample",
    "chosen",
    "rejected",
    "chosen_probs",
    "rejected_probs",
    "dropped",
]


def candidate_pairs(
    generations: pd.DataFrame, rates: pd.DataFrame, strategy: str, margin: float, seed: int
) -> pd.DataFrame:
    """One row per (model, prompt_id) of ``rates``: the pair ``strategy`` picks and why it is dropped ("" if kept).

    Picks are made among the samples with a known win rate. ``max_min`` (SPPO's): chosen = highest win rate, ties
    to the lower sample index; rejected = lowest, ties to the higher index, so a tie at the top and the bottom still
    gives two distinct samples. ``max_random``: chosen as for max_min, rejected a uniformly random other sample.
    ``random``: two distinct uniformly random samples, the higher win rate chosen. Random draws come from
    ``default_rng(seed)``, one row of draws per group in sorted (model, prompt_id) order, so they do not depend on
    the row order of either table. ``dropped`` is, in this order: "unknown" (fewer than two known win rates),
    "identical" (same response text), "tied" (equal win rates), "below_margin" (difference < ``margin``); the last
    reason, "weak_verdict", is ``require_verdict``'s.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"selfplay: strategy must be one of {STRATEGIES}, got {strategy!r}")
    if not 0.0 <= margin <= 1.0:  # also rejects NaN; a win-rate difference lies in [0, 1]
        raise ValueError(f"selfplay: margin must lie in [0, 1] (a difference of win rates), got {margin!r}")
    keys, rate, response, prompt = _by_group(generations, rates)
    n_groups, k = rate.shape
    rows = np.arange(n_groups)
    known = ~np.isnan(rate)
    # argmax of a boolean row is its first True: the lowest index among the samples tied at the top.
    top = known & (rate >= np.where(known, rate, -np.inf).max(axis=1, initial=-np.inf)[:, None] - TIE_TOLERANCE)
    best = np.argmax(top, axis=1)
    draws = np.random.default_rng(seed).random((n_groups, k))[_sorted_position(keys)]
    match strategy:
        case "max_min":
            chosen = best
            bottom = known & (
                rate <= np.where(known, rate, np.inf).min(axis=1, initial=np.inf)[:, None] + TIE_TOLERANCE
            )
            rejected = k - 1 - np.argmax(bottom[:, ::-1], axis=1)
        case "max_random":
            chosen = best
            others = known & (np.arange(k) != best[:, None])
            rejected = np.argmin(np.where(others, draws, np.inf), axis=1)
        case "random":
            first = np.argmin(np.where(known, draws, np.inf), axis=1)
            rest = known & (np.arange(k) != first[:, None])
            second = np.argmin(np.where(rest, draws, np.inf), axis=1)
            first_wins = rate[rows, first] >= rate[rows, second]
            chosen = np.where(first_wins, first, second)
            rejected = np.where(first_wins, second, first)
    chosen_p, rejected_p = rate[rows, chosen], rate[rows, rejected]
    chosen_text, rejected_text = response[rows, chosen], response[rows, rejected]
    unknown = known.sum(axis=1) < 2
    gap = chosen_p - rejected_p
    dropped = np.select(
        [unknown, chosen_text == rejected_text, gap <= TIE_TOLERANCE, gap + TIE_TOLERANCE < margin],
        DROP_REASONS[:4],
        default="",
    )
    return pd.DataFrame(
        {
            "model": keys["model"].to_numpy(dtype=object),
            "prompt_id": keys["prompt_id"].to_numpy(dtype=object),
            "prompt": prompt,
            "chosen_sample": np.where(unknown, -1, chosen).astype(np.int64),
            "rejected_sample": np.where(unknown, -1, rejected).astype(np.int64),
            "chosen": np.where(unknown, None, chosen_text),
            "rejected": np.where(unknown, None, rejected_text),
            "chosen_probs": np.where(unknown, np.nan, chosen_p),
            "rejected_probs": np.where(unknown, np.nan, rejected_p),
            "dropped": dropped.astype(object),
        },
        columns=CANDIDATE_COLUMNS,
    )


def require_verdict(
    candidates: pd.DataFrame, wins: Mapping[tuple[str, str], np.ndarray], verdict_margin: float | None
) -> pd.DataFrame:
    """The candidates with a kept pair dropped as "weak_verdict" unless the judges' own verdict between its two
    answers exceeds ``verdict_margin`` (None: no such check).

    A high win rate against the policy can come from one judge alone; this asks, as tribe's ``pairs.margin`` does,
    that the judges back the chosen answer over the rejected one directly: with two reference judges, 0.99 keeps
    only pairs both judges back. ``wins`` holds each (model, prompt_id)'s win matrix (``win_matrix``); a pair
    without a verdict is weak.
    """
    if verdict_margin is None:
        return candidates
    if not 0.0 <= verdict_margin < 1.0:  # a verdict lies in [-1, 1]; none exceeds 1
        raise ValueError(f"selfplay: verdict_margin must lie in [0, 1), got {verdict_margin!r}")
    kept = candidates["dropped"] == ""
    verdict = np.full(len(candidates), np.nan)
    for row in np.flatnonzero(kept.to_numpy()):
        pair = candidates.iloc[row]
        matrix = wins.get((pair["model"], pair["prompt_id"]))
        if matrix is not None:
            verdict[row] = 2.0 * matrix[pair["chosen_sample"], pair["rejected_sample"]] - 1.0
    weak = kept.to_numpy() & ~(verdict > verdict_margin + TIE_TOLERANCE)  # NaN (no verdict) is weak too
    return candidates.assign(dropped=np.where(weak, "weak_verdict", candidates["dropped"]).astype(object))


def kept_pairs(candidates: pd.DataFrame) -> pd.DataFrame:
    """The pairs table (the PAIRS contract plus the win rates and sample indices) of the candidates kept."""
    kept = candidates[candidates["dropped"] == ""]
    low = np.minimum(kept["chosen_sample"], kept["rejected_sample"]).astype(str)
    high = np.maximum(kept["chosen_sample"], kept["rejected_sample"]).astype(str)
    return pd.DataFrame(
        {
            "prompt_id": kept["prompt_id"],
            "prompt": kept["prompt"],
            "chosen": kept["chosen"],
            "rejected": kept["rejected"],
            "margin": (kept["chosen_probs"] - kept["rejected_probs"]).astype(float),
            "match_id": kept["model"] + ":" + kept["prompt_id"] + ":" + low + ":" + high,
            "chosen_model": kept["model"],
            "rejected_model": kept["model"],
            "chosen_probs": kept["chosen_probs"].astype(float),
            "rejected_probs": kept["rejected_probs"].astype(float),
            "chosen_sample": kept["chosen_sample"].astype(np.int64),
            "rejected_sample": kept["rejected_sample"].astype(np.int64),
        }
    ).reset_index(drop=True)


def selfplay_pairs(
    generations: pd.DataFrame, rates: pd.DataFrame, strategy: str, margin: float, seed: int
) -> pd.DataFrame:
    """At most one training pair per (model, prompt): see ``candidate_pairs`` for the picks and the filters."""
    return kept_pairs(candidate_pairs(generations, rates, strategy, margin, seed))


def pair_stats(
    candidates: pd.DataFrame, rates: pd.DataFrame, correct: Mapping[tuple[str, str, int], bool] | None = None
) -> dict:
    """The pair statistics document (agon.pair_stats) of the iteration's candidates.

    Its extras: the share of samples the rankers left without a win rate and the kept pairs' mean win rates.
    Given ``correct`` ((model, prompt_id, sample) -> the verifier's verdict), it says how often the chosen answer
    is correct and how often the pair is inverted (chosen wrong, rejected right): the check that the ranker's
    preference agrees with the ground truth.
    """
    pairs = kept_pairs(candidates)
    chosen_ok = rejected_ok = None
    if correct is not None and len(pairs):
        models = pairs["chosen_model"]
        chosen_keys = list(zip(models, pairs["prompt_id"], pairs["chosen_sample"], strict=True))
        rejected_keys = list(zip(models, pairs["prompt_id"], pairs["rejected_sample"], strict=True))
        missing = [key for key in chosen_keys + rejected_keys if key not in correct]
        if missing:
            raise ValueError(f"selfplay: correctness unknown for {len(missing)} paired sample(s), e.g. {missing[:3]}")
        chosen_ok = np.array([bool(correct[key]) for key in chosen_keys])
        rejected_ok = np.array([bool(correct[key]) for key in rejected_keys])
    extras = {
        "unknown_win_rate_share": float(rates["win_rate"].isna().mean()) if len(rates) else None,
        "mean_chosen_win_rate": mean_or_none(pairs["chosen_probs"]),
        "mean_rejected_win_rate": mean_or_none(pairs["rejected_probs"]),
    }
    return pair_stats_document(
        "selfplay",
        candidates["dropped"],
        DROP_REASONS,
        pairs,
        chosen_ok=chosen_ok,
        rejected_ok=rejected_ok,
        extras=extras,
    )


def verified(matches: pd.DataFrame, judgments: pd.DataFrame) -> dict[tuple[str, str, int], bool]:
    """(model, prompt_id, sample) -> correct, from a verifier's judgments of the comparisons (``pair_stats``).

    The verifier scores each answer of a comparison 1.0 (correct) or 0.0 (wrong); rows without a valid score are
    left out, so an unchecked sample stays unknown.
    """
    rows = judgments.loc[judgments["valid"].eq(True), ["match_id", "score_a", "score_b"]].merge(
        matches[["match_id", "model_a", "prompt_id", "sample_a", "sample_b"]], on="match_id"
    )
    correct: dict[tuple[str, str, int], bool] = {}
    for side in ("a", "b"):
        scored = rows[rows[f"score_{side}"].notna()]
        keys = zip(scored["model_a"], scored["prompt_id"], scored[f"sample_{side}"].astype(int), strict=True)
        correct.update(zip(keys, scored[f"score_{side}"] > 0, strict=True))
    return correct


def _by_group(
    generations: pd.DataFrame, rates: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The (model, prompt_id) groups of ``rates`` in their order, with (G, K) win rates and responses and the prompts.

    A sample missing from a group's rates gets a NaN win rate (unknown); a rated sample without a response is an
    error: the pair could not be written.
    """
    index = ["model", "prompt_id", "sample"]
    if rates.duplicated(index).any():
        raise ValueError("selfplay: rates repeat a (model, prompt_id, sample)")
    if generations.duplicated(index).any():
        raise ValueError("selfplay: generations repeat a (model, prompt_id, sample)")
    rated = rates[[*index, "win_rate"]].merge(
        generations[[*index, "prompt", "response"]], on=index, how="left", indicator=True
    )
    unanswered = rated["_merge"] == "left_only"
    if unanswered.any():
        example = rated.loc[unanswered, index].head(3).to_records(index=False).tolist()
        raise ValueError(f"selfplay: {int(unanswered.sum())} rated sample(s) have no generation, e.g. {example}")
    group, keys = pd.MultiIndex.from_arrays([rated["model"], rated["prompt_id"]]).factorize()
    k = int(rated["sample"].max()) + 1 if len(rated) else 1  # no groups still need a sample axis to argmax over
    sample = rated["sample"].to_numpy(dtype=np.int64)
    rate = np.full((len(keys), k), np.nan)
    rate[group, sample] = rated["win_rate"].to_numpy(dtype=float)
    response = np.full((len(keys), k), None, dtype=object)
    response[group, sample] = rated["response"].to_numpy(dtype=object)
    prompt = np.full(len(keys), None, dtype=object)
    prompt[group] = rated["prompt"].to_numpy(dtype=object)
    return (
        pd.DataFrame({"model": keys.get_level_values(0), "prompt_id": keys.get_level_values(1)}),
        rate,
        response,
        prompt,
    )


def _sorted_position(keys: pd.DataFrame) -> np.ndarray:
    """Each group's rank in sorted (model, prompt_id) order: the row of random draws it receives."""
    order = np.lexsort((keys["prompt_id"].to_numpy(dtype=str), keys["model"].to_numpy(dtype=str)))
    position = np.empty(len(keys), dtype=np.int64)
    position[order] = np.arange(len(keys))
    return position


def make_selfplay_pairs(
    rates_path: str | Path,
    generation_paths: list[str | Path],
    matches_path: str | Path,
    judgment_paths: list[str | Path],
    verifier_paths: list[str | Path],
    pair_paths: Mapping[str, str | Path],
    stats_path: str | Path,
    *,
    strategy: str,
    margin: float,
    verdict_margin: float | None,
    k: int,
    seed: int,
) -> None:
    """Each model's pairs of its own answers (one file per model) and the iteration's pair statistics.

    ``judgment_paths`` are the ranker's verdicts (``require_verdict``). With the verifier's judgments
    (``verifier_paths``), the statistics say how often the chosen answer is right; the verifier never decides a
    pair unless it is the ranker.
    """
    generations = read_tables(generation_paths, GENERATIONS)
    rates = read_table(rates_path, WIN_RATES)
    matches = read_table(matches_path, MATCHES)
    within = matches.loc[is_within(matches)]
    candidates = candidate_pairs(generations, rates, strategy, margin, seed)
    if verdict_margin is not None:
        judgments = read_tables(judgment_paths, JUDGMENTS)
        wins = win_matrix(within, judgments[judgments["match_id"].isin(within["match_id"])], k)
        candidates = require_verdict(candidates, wins, verdict_margin)
    pairs = kept_pairs(candidates)
    correct = None
    if verifier_paths:
        verdicts = read_tables(verifier_paths, JUDGMENTS)
        correct = verified(within, verdicts[verdicts["match_id"].isin(within["match_id"])])
    for model, path in pair_paths.items():
        write_table(pairs[pairs["chosen_model"] == model].reset_index(drop=True), path, PAIRS)
    stats = pair_stats(candidates, rates, correct)
    write_document(stats, stats_path, PAIR_STATS)
    logger.info("%d pairs from %d prompts", stats["pairs"], stats["candidates"])
