"""Debate's preference pairs: of a speech's two alternatives, the one after which the judge favoured the
speaker's side more is chosen; each debater trains on its own speeches.
"""

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import (
    JUDGMENTS,
    MATCHES,
    PAIR_STATS,
    PAIRS,
    TRANSCRIPT,
    read_table,
    read_tables,
    write_document,
    write_table,
)
from agon.debate.config import DebateConfig
from agon.debate.transcript import branch_id, checked_transcript, in_debate_order, speech_id
from agon.pair_stats import TIE_TOLERANCE, mean_or_none, pair_stats_document
from agon.ratings.verdicts import duel_verdicts

logger = logging.getLogger(__name__)

# Why a speech gives no pair, checked in this order; "" when it gives one.
DROP_REASONS = ("unjudged", "identical", "tie", "below_margin")
CANDIDATE_COLUMNS = [
    "match_id",
    "prompt_id",
    "turn",
    "side",
    "speaker",
    "prompt",
    "chosen",
    "rejected",
    "chosen_favour",
    "rejected_favour",
    "dropped",
]


def speech_candidates(
    matches: pd.DataFrame, transcript: pd.DataFrame, judgments: pd.DataFrame, cfg: DebateConfig
) -> pd.DataFrame:
    """One row per speech (``CANDIDATE_COLUMNS``): its two alternatives ranked by the judge's favour for the
    speaker's side after each, and why it gives no pair (``dropped``, "" when it gives one).

    The favour is ``P(speaker's side)`` on the speech's branch: ``P(A)`` for side a, ``1 - P(A)`` for side b.
    ``dropped`` is, in this order: "unjudged" (an alternative without a verdict), "identical" (same text), "tie"
    (equal favour), "below_margin" (gain < ``cfg.margin``).
    """
    transcript = in_debate_order(matches, checked_transcript(matches, transcript))
    branch_ids = [
        branch_id(m, t, s, a)
        for m, t, s, a in zip(
            transcript["match_id"], transcript["turn"], transcript["side"], transcript["alt"], strict=True
        )
    ]
    unknown = sorted(set(judgments["match_id"]) - set(matches["match_id"]) - set(branch_ids))
    if unknown:
        raise ValueError(f"debate: judgments name {len(unknown)} unknown debate(s) or branch(es), e.g. {unknown[:3]}")
    debates = matches[["match_id", "round", "prompt_id", "model_a", "model_b"]]
    branches = (
        transcript[["match_id"]]
        .merge(debates, on="match_id", how="left")
        .assign(match_id=np.asarray(branch_ids, dtype=object))
    )
    verdicts = duel_verdicts(branches, judgments[judgments["match_id"].isin(branch_ids)], {})
    p_a = (1.0 + verdicts["d"].to_numpy(dtype=float)) / 2.0
    speeches = transcript.assign(
        prompt_id=branches["prompt_id"].to_numpy(), favour=np.where(transcript["side"] == "a", p_a, 1.0 - p_a)
    )
    key = ["match_id", "turn", "side"]
    alt0 = speeches[speeches["alt"] == 0].set_index(key)
    alt1 = speeches[speeches["alt"] == 1].set_index(key).loc[alt0.index]
    f0, f1 = alt0["favour"].to_numpy(), alt1["favour"].to_numpy()
    t0, t1 = alt0["text"].to_numpy(dtype=object), alt1["text"].to_numpy(dtype=object)
    first = ~(f1 > f0)  # alt 0 is chosen unless alt 1 was favoured more (a tie is dropped anyway)
    gain = np.abs(f0 - f1)
    dropped = np.select(
        [np.isnan(gain), t0 == t1, gain <= TIE_TOLERANCE, gain + TIE_TOLERANCE < cfg.margin], DROP_REASONS, default=""
    )
    return pd.DataFrame(
        {
            "match_id": alt0.index.get_level_values("match_id"),
            "prompt_id": alt0["prompt_id"].to_numpy(),
            "turn": alt0.index.get_level_values("turn").astype(np.int64),
            "side": alt0.index.get_level_values("side"),
            "speaker": alt0["speaker"].to_numpy(),
            "prompt": alt0["prompt"].to_numpy(),
            "chosen": np.where(first, t0, t1),
            "rejected": np.where(first, t1, t0),
            "chosen_favour": np.where(first, f0, f1),
            "rejected_favour": np.where(first, f1, f0),
            "dropped": dropped.astype(object),
        },
        columns=CANDIDATE_COLUMNS,
    )


def kept_pairs(candidates: pd.DataFrame) -> pd.DataFrame:
    """The speeches' training pairs: the PAIRS contract plus ``chosen_favour`` and ``rejected_favour``.

    The prompt is the speech's prompt, ``margin`` the gain in favour, ``match_id`` the speech
    (``{debate}/t{turn}/{side}``) and both models the speaker: a debater learns from its own alternatives.
    """
    kept = candidates[candidates["dropped"] == ""]
    frame = pd.DataFrame(
        {
            "prompt_id": kept["prompt_id"],
            "prompt": kept["prompt"],
            "chosen": kept["chosen"],
            "rejected": kept["rejected"],
            "margin": (kept["chosen_favour"] - kept["rejected_favour"]).astype(float),
            "match_id": [
                speech_id(m, t, s) for m, t, s in zip(kept["match_id"], kept["turn"], kept["side"], strict=True)
            ],
            "chosen_model": kept["speaker"],
            "rejected_model": kept["speaker"],
            "chosen_favour": kept["chosen_favour"].astype(float),
            "rejected_favour": kept["rejected_favour"].astype(float),
        },
        columns=[*PAIRS.columns, "chosen_favour", "rejected_favour"],
    )
    return frame.reset_index(drop=True)


def pair_stats(candidates: pd.DataFrame) -> dict:
    """The pair statistics document (agon.pair_stats) of the speeches (from ``speech_candidates``); its extras
    are the judge's mean favour after the chosen and after the rejected alternatives."""
    pairs = kept_pairs(candidates)
    extras = {
        "mean_chosen_favour": mean_or_none(pairs["chosen_favour"]),
        "mean_rejected_favour": mean_or_none(pairs["rejected_favour"]),
    }
    return pair_stats_document("debate", candidates["dropped"], DROP_REASONS, pairs, extras=extras)


def make_debate_pairs(
    matches_path: str | Path,
    transcript_path: str | Path,
    branch_paths: list[str | Path],
    pair_paths: Mapping[str, str | Path],
    stats_path: str | Path,
    debate: dict,
) -> None:
    """Each debater's pairs of its own speeches (one file per debater) and the iteration's pair statistics."""
    judgments = read_tables(branch_paths, JUDGMENTS)
    candidates = speech_candidates(
        read_table(matches_path, MATCHES),
        read_table(transcript_path, TRANSCRIPT),
        judgments,
        DebateConfig.from_dict(debate),
    )
    pairs = kept_pairs(candidates)
    for model, path in pair_paths.items():
        write_table(pairs[pairs["chosen_model"] == model].reset_index(drop=True), path, PAIRS)
    stats = pair_stats(candidates)
    write_document(stats, stats_path, PAIR_STATS)
    logger.info("%d pairs from %d speeches", stats["pairs"], stats["candidates"])
