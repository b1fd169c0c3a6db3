"""How far to trust a judge: its verdicts against the verifier's on the same duels.

Reported, never used for training: the verifier only measures. The split that matters (docs/ablation.md): on duels
with exactly one correct answer peers mostly agree with the verifier; on duels with two different wrong answers
the right verdict is "neither", and a judge that still picks a winner makes a pair with a wrong chosen answer.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import JUDGMENTS, MATCHES, read_table, read_tables
from agon.files import write_json
from agon.ratings.verdicts import duel_verdicts


def _correctness(verifier: pd.DataFrame) -> pd.DataFrame:
    rows = verifier[verifier["valid"].eq(True)].drop_duplicates("match_id")
    return rows.set_index("match_id")[["score_a", "score_b"]]


def agreement(matches: pd.DataFrame, judgments: pd.DataFrame, verifier: pd.DataFrame) -> dict:
    """Agreement of one judge method's (unweighted) verdicts with the verifier's, split by duel kind."""
    verdicts = duel_verdicts(matches, judgments, {}).set_index("match_id")
    truth = _correctness(verifier).reindex(verdicts.index)
    d = verdicts["d"]
    one_correct = (truth["score_a"] != truth["score_b"]) & truth["score_a"].notna()
    both_wrong = (truth["score_a"] == 0) & (truth["score_b"] == 0)
    decided = d.notna() & (d != 0)
    right = np.sign(d) == np.sign(truth["score_a"] - truth["score_b"])

    def share(mask: pd.Series) -> float | None:
        return float(mask.mean()) if len(mask) else None

    return {
        "duels": len(verdicts),
        "with_verdict": int(d.notna().sum()),
        "one_correct_duels": int(one_correct.sum()),
        "agreement_one_correct": share(right[one_correct & decided]),
        "abstained_one_correct": share(~decided[one_correct]),
        "both_wrong_duels": int(both_wrong.sum()),
        # Both wrong: the verifier says "neither"; any decided verdict here makes a pair with a wrong chosen answer.
        "picked_winner_both_wrong": share(decided[both_wrong]),
    }


def write_agreement(
    matches_path: str | Path,
    judgment_paths: dict[str, list[str | Path]],
    verifier_path: str | Path,
    out_path: str | Path,
) -> None:
    """``judgment_paths``: judge method -> its judgment files; one agreement block per method."""
    matches = read_table(matches_path, MATCHES)
    verifier = read_table(verifier_path, JUDGMENTS)
    report = {
        method: agreement(matches, read_tables(paths, JUDGMENTS), verifier) for method, paths in judgment_paths.items()
    }
    write_json(report, out_path)
