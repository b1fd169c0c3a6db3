"""Does the truth win? The judges' verdicts on the full debates: the judge's accuracy and each debater's record.

``P(A) = (1 + d) / 2`` with ``d`` the judges' folded verdict (``ratings.verdicts.duel_verdicts``); the rating
schemes rate the debater the judges favoured (``debate_verdicts``).
"""

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import JUDGMENTS, MATCHES, read_table, read_tables
from agon.debate.schedule import SIDES
from agon.files import write_json
from agon.pair_stats import TIE_TOLERANCE
from agon.ratings.verdicts import duel_verdicts

logger = logging.getLogger(__name__)


def debate_verdicts(
    matches: pd.DataFrame, judgments: pd.DataFrame, weights: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """The verdicts of the full debates (``duel_verdicts``; branch rows left out), for the rating schemes.

    ``d > 0`` means the judges favoured side a, so ``model_a`` won: the debater, not the answer, is rated.
    """
    full = judgments[judgments["match_id"].isin(matches["match_id"])]
    return duel_verdicts(matches, full, weights or {})


def outcomes(matches: pd.DataFrame, judgments: pd.DataFrame) -> dict:
    """Does the truth win? The judges' reading of the full debates, JSON-ready (None where nothing was judged).

    A debate is judged when ``debate_verdicts`` gives it a verdict; the judge is right when
    ``P(correct side) > 0.5``, so a tie (``P = 0.5``) counts as wrong and is also reported on its own. Per
    debater, a side it argued is won when the judge favoured it (``P(side) > 0.5``); ``correct``/``wrong`` split
    by whether that side held the reference: the key question of debate is whether arguing the truth wins.
    """
    verdicts = debate_verdicts(matches, judgments, {})
    p_a = (1.0 + verdicts["d"].to_numpy(dtype=float)) / 2.0
    judged = ~np.isnan(p_a)
    correct_is_a = matches["correct"].to_numpy() == "a"
    p_correct = np.where(correct_is_a, p_a, 1.0 - p_a)
    tie = judged & (np.abs(p_a - 0.5) <= TIE_TOLERANCE)
    right = judged & ~tie & (p_correct > 0.5)
    sides = pd.concat(
        [
            pd.DataFrame(
                {
                    "model": matches[f"model_{side}"].to_numpy(),
                    "side": side,
                    "judged": judged,
                    "won": judged & ~tie & ((p_a if side == "a" else 1.0 - p_a) > 0.5),
                    "truth": correct_is_a if side == "a" else ~correct_is_a,
                }
            )
            for side in SIDES
        ],
        ignore_index=True,
    )
    return {
        "protocol": "debate",
        "debates": len(matches),
        "judged": int(judged.sum()),
        "ties": int(tie.sum()),
        "judge_accuracy": _share(right.sum(), judged.sum()),
        "mean_p_correct": float(p_correct[judged].mean()) if judged.any() else None,
        "judge_accuracy_when_correct_is": {
            side: _share((right & mask).sum(), (judged & mask).sum())
            for side, mask in (("a", correct_is_a), ("b", ~correct_is_a))
        },
        "debaters": {str(model): _debater_summary(rows) for model, rows in sides.groupby("model", sort=True)},
    }


def _debater_summary(sides: pd.DataFrame) -> dict:
    """Judged sides and win rates of one debater: overall, per side, and arguing the correct or the wrong answer."""
    summary: dict[str, object] = {}
    for label, rows in (
        ("", sides),
        ("_as_a", sides[sides["side"] == "a"]),
        ("_as_b", sides[sides["side"] == "b"]),
        ("_correct", sides[sides["truth"]]),
        ("_wrong", sides[~sides["truth"]]),
    ):
        summary[f"judged{label}"] = int(rows["judged"].sum())
        summary[f"win_rate{label}"] = _share(int(rows["won"].sum()), int(rows["judged"].sum()))
    return summary


def _share(part: int, whole: int) -> float | None:
    return float(part / whole) if whole else None


def write_outcomes(matches_path: str | Path, judgment_paths: list[str | Path], out_path: str | Path) -> dict:
    """The judge's accuracy and each debater's record on the full transcripts."""
    judgments = read_tables(judgment_paths, JUDGMENTS)
    report = outcomes(read_table(matches_path, MATCHES), judgments)
    write_json(report, out_path)
    logger.info("judge accuracy %s on %d of %d debates", report["judge_accuracy"], report["judged"], report["debates"])
    return report
