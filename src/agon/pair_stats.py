"""The pair statistics document (``iter_<i>/pairs/stats.json``, contract ``contracts.PAIR_STATS``): what one
iteration's pairs are made of, in the same keys whichever protocol made them.

Every protocol weighs candidates that each give at most one pair (tribe: duels; selfplay: a model's answers to a
prompt; debate: speeches) and names why a candidate gives none; its pairs module hands the candidates' reasons,
the pairs and what it knows of their correctness to ``pair_stats_document``.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

# Scores are means of floats: two closer than this are the same score (a tie), not a 1e-17 margin.
TIE_TOLERANCE = 1e-9


def mean_or_none(values: pd.Series | np.ndarray) -> float | None:
    """The mean, or None (JSON null) for no values: an empty iteration has no mean, not a NaN."""
    return float(values.mean()) if len(values) else None


def pair_stats_document(
    protocol: str,
    dropped: pd.Series,
    reasons: Sequence[str],
    pairs: pd.DataFrame,
    *,
    chosen_ok: np.ndarray | None = None,
    rejected_ok: np.ndarray | None = None,
    extras: Mapping[str, object] | None = None,
) -> dict:
    """The document, JSON-ready.

    ``dropped`` holds one entry per candidate: the reason (one of ``reasons``) it gave no pair, "" when it gave
    one. ``pairs`` has the PAIRS columns; ``chosen_ok`` and ``rejected_ok`` say, pair by pair, whether each side is
    correct, where a checker knows (else the shares are null). ``extras`` holds what only the protocol measures.
    """
    # Every protocol's margin is a difference of probabilities or win rates: it lies in [0, 1].
    counts, edges = np.histogram(pairs["margin"].to_numpy(dtype=float), bins=10, range=(0.0, 1.0))
    return {
        "protocol": protocol,
        "candidates": len(dropped),
        "pairs": len(pairs),
        "dropped": {reason: int((dropped == reason).sum()) for reason in reasons},
        "pairs_by_chosen_model": {
            str(model): int(n) for model, n in pairs["chosen_model"].value_counts().sort_index().items()
        },
        "mean_margin": mean_or_none(pairs["margin"]),
        "margin_histogram": {"edges": edges.round(2).tolist(), "counts": counts.tolist()},
        # Only with pairs: pandas types the columns of an empty table float, and floats have no length.
        "mean_length_delta_chars": (
            mean_or_none(pairs["chosen"].str.len() - pairs["rejected"].str.len()) if len(pairs) else None
        ),
        **_correctness(chosen_ok, rejected_ok),
        "extras": dict(extras or {}),
    }


def _correctness(chosen_ok: np.ndarray | None, rejected_ok: np.ndarray | None) -> dict[str, float | None]:
    """Shares of the pairs whose chosen, rejected, only the rejected (inverted) or neither answer is correct."""
    if chosen_ok is None or rejected_ok is None:
        return dict.fromkeys(("chosen_correct", "rejected_correct", "inverted", "both_wrong"))
    chosen_ok, rejected_ok = np.asarray(chosen_ok, dtype=bool), np.asarray(rejected_ok, dtype=bool)
    return {
        "chosen_correct": mean_or_none(chosen_ok),
        "rejected_correct": mean_or_none(rejected_ok),
        "inverted": mean_or_none(~chosen_ok & rejected_ok),
        "both_wrong": mean_or_none(~chosen_ok & ~rejected_ok),
    }
