"""The selfplay protocol (SPPO, iterative DPO): each policy's K samples per prompt are ranked against each other.

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

from agon.contracts import (
    GENERATIONS,
    JUDGMENTS,
    MATCHES,
    PAIRS,
    PROMPTS,
    WIN_RATES,
    read_table,
    read_tables,
    write_table,
)
from agon.files import write_json
from agon.ratings.verdicts import duel_verdicts

logger = logging.getLogger(__name__)

STRATEGIES = ("max_min", "max_random", "random")
# Win rates are means of floats: two closer than this are the same win rate (a tie), not a 1e-17 margin.
TIE_TOLERANCE = 1e-9
# Why a (model, prompt) gives no pair, checked in this order; "" when it gives one.
DROP_REASONS = ("unknown", "identical", "tied", "below_margin")
RATE_COLUMNS = WIN_RATES.columns
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


def comparisons(prompts: pd.DataFrame, models: list[str], k: int) -> pd.DataFrame:
    """The matches table of one iteration: every unordered pair ``i < j`` of each model's K samples per prompt.

    Ordered by model, prompt order, i, j; ``model_a == model_b`` (the policy), ``sample_a``/``sample_b`` say which
    answers meet. The match id ``model:prompt_id:i:j`` names the comparison in pairs built from it.
    """
    _check_k(k)
    if len(set(models)) != len(models):
        raise ValueError(f"selfplay: models must be distinct; got {models}")
    if prompts["prompt_id"].duplicated().any():
        repeated = prompts.loc[prompts["prompt_id"].duplicated(), "prompt_id"].unique()[:3].tolist()
        raise ValueError(f"selfplay: prompt_id must be unique; repeated: {repeated}")
    i, j = np.triu_indices(k, 1)
    n_prompts, n_pairs = len(prompts), len(i)
    per_model = n_prompts * n_pairs
    prompt_rows = np.tile(np.repeat(np.arange(n_prompts), n_pairs), len(models))
    model = pd.Series(np.repeat(np.asarray(models, dtype=object), per_model), dtype=object)
    prompt_id = pd.Series(prompts["prompt_id"].astype(str).to_numpy()[prompt_rows], dtype=object)
    sample_a = np.tile(i, n_prompts * len(models)).astype(np.int64)
    sample_b = np.tile(j, n_prompts * len(models)).astype(np.int64)
    match_id = model + ":" + prompt_id + ":" + pd.Series(sample_a).astype(str) + ":" + pd.Series(sample_b).astype(str)
    return pd.DataFrame(
        {
            "match_id": match_id.to_numpy(dtype=object),
            "round": np.zeros(len(match_id), dtype=np.int64),
            "prompt_id": prompt_id.to_numpy(),
            "prompt": prompts["prompt"].to_numpy(dtype=object)[prompt_rows],
            "reference": prompts["reference"].to_numpy(dtype=object)[prompt_rows],
            "model_a": model.to_numpy(),
            "model_b": model.to_numpy(),
            "sample_a": sample_a,
            "sample_b": sample_b,
        }
    )


# The previous iteration's policy of a model answers under this name, so that its answers and the current
# policy's can meet in one comparison (a name no member can have: the config allows no "@").
PREVIOUS = "@previous"


def previous_comparisons(prompts: pd.DataFrame, models: list[str], k: int) -> pd.DataFrame:
    """Each policy's answer s against its previous policy's answer s, per prompt: the iteration's win rate against
    the previous policy, SPPO's measure of progress. Match id ``model:prompt_id:s:previous``."""
    same = comparisons(prompts, models, 2)
    rows = same.loc[same.index.repeat(k)].reset_index(drop=True)
    sample = np.tile(np.arange(k, dtype=np.int64), len(same))
    return rows.assign(
        match_id=rows["model_a"] + ":" + rows["prompt_id"] + ":" + pd.Series(sample).astype(str) + ":previous",
        model_b=rows["model_a"] + PREVIOUS,
        sample_a=sample,
        sample_b=sample,
    )


def is_within(matches: pd.DataFrame) -> pd.Series:
    """The comparisons between two answers of one policy (the others meet the previous policy)."""
    return matches["model_a"] == matches["model_b"]


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
        result[model] = {"win_rate": _mean((1 + mine) / 2), "compared": len(mine)}
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
    _check_k(k)
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
    "identical" (same response text), "tied" (equal win rates), "below_margin" (difference < ``margin``).
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
        DROP_REASONS,
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
    """What the iteration's pairs are made of, JSON-ready.

    Counts and mean win rates of the kept pairs, the share of (model, prompt)s without a pair by reason, the share
    of samples the rankers left without a win rate, and, given ``correct`` ((model, prompt_id, sample) -> the
    verifier's verdict), how often the chosen answer is correct and how often the pair is inverted (chosen wrong,
    rejected right): the check that the ranker's preference agrees with the ground truth.
    """
    pairs = kept_pairs(candidates)
    n = len(candidates)
    reasons = candidates["dropped"].value_counts()
    stats: dict[str, object] = {
        "prompts": n,
        "pairs": len(pairs),
        "pairs_per_model": {str(m): int(c) for m, c in pairs["chosen_model"].value_counts().sort_index().items()},
        "no_pair_share": {r: (int(reasons.get(r, 0)) / n if n else None) for r in DROP_REASONS},
        "unknown_win_rate_share": float(rates["win_rate"].isna().mean()) if len(rates) else None,
        "mean_margin": _mean(pairs["margin"]),
        "mean_chosen_win_rate": _mean(pairs["chosen_probs"]),
        "mean_rejected_win_rate": _mean(pairs["rejected_probs"]),
        "mean_length_delta_chars": _mean(pairs["chosen"].str.len() - pairs["rejected"].str.len()),
    }
    if correct is not None and len(pairs):
        models = pairs["chosen_model"]
        chosen_keys = list(zip(models, pairs["prompt_id"], pairs["chosen_sample"], strict=True))
        rejected_keys = list(zip(models, pairs["prompt_id"], pairs["rejected_sample"], strict=True))
        missing = [key for key in chosen_keys + rejected_keys if key not in correct]
        if missing:
            raise ValueError(f"selfplay: correctness unknown for {len(missing)} paired sample(s), e.g. {missing[:3]}")
        chosen_ok = np.array([bool(correct[key]) for key in chosen_keys])
        rejected_ok = np.array([bool(correct[key]) for key in rejected_keys])
        stats["chosen_correct"] = float(chosen_ok.mean())
        stats["rejected_correct"] = float(rejected_ok.mean())
        stats["inverted"] = float((~chosen_ok & rejected_ok).mean())
    return stats


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


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ValueError(f"selfplay: k (samples per prompt) must be an integer >= 2 to compare samples, got {k!r}")


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


# --- the stage's files ------------------------------------------------------------------------------------


def write_comparisons(
    prompts_path: str | Path, out_path: str | Path, models: list[str], k: int, *, previous: bool
) -> None:
    """The iteration's matches: every two of each model's ``k`` answers to each prompt and, with ``previous``
    (every iteration but the first), each answer against the previous policy's answer of the same index."""
    prompts = read_table(prompts_path, PROMPTS)
    frames = [comparisons(prompts, models, k)] + ([previous_comparisons(prompts, models, k)] if previous else [])
    write_table(pd.concat(frames, ignore_index=True), out_path, MATCHES)


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
            "mean_win_rate_spread": _mean(spread.dropna()),
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


def make_selfplay_pairs(
    rates_path: str | Path,
    generation_paths: list[str | Path],
    matches_path: str | Path,
    verifier_paths: list[str | Path],
    pair_paths: Mapping[str, str | Path],
    stats_path: str | Path,
    *,
    strategy: str,
    margin: float,
    seed: int,
) -> None:
    """Each model's pairs of its own answers (one file per model) and the iteration's pair statistics.

    With the verifier's judgments (``verifier_paths``), the statistics say how often the chosen answer is right;
    the verifier never decides a pair.
    """
    generations = read_tables(generation_paths, GENERATIONS)
    rates = read_table(rates_path, WIN_RATES)
    candidates = candidate_pairs(generations, rates, strategy, margin, seed)
    pairs = kept_pairs(candidates)
    correct = None
    if verifier_paths:
        matches, verdicts = read_table(matches_path, MATCHES), read_tables(verifier_paths, JUDGMENTS)
        within = matches.loc[is_within(matches)]
        correct = verified(within, verdicts[verdicts["match_id"].isin(within["match_id"])])
    for model, path in pair_paths.items():
        write_table(pairs[pairs["chosen_model"] == model].reset_index(drop=True), path, PAIRS)
    stats = pair_stats(candidates, rates, correct)
    write_json(stats, stats_path)
    logger.info("%d pairs from %d prompts", stats["pairs"], stats["prompts"])
