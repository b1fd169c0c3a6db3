"""The verifier: tasks with exactly checkable answers need no model to judge a duel, only the task's checker."""

import pandas as pd

from agon.judging.protocol import Verdict, judgments_frame
from agon.tasks import checker


class VerifierJudge:
    """Scores each answer 1.0 (correct) or 0.0 (wrong); the preference is the difference, 0 on a tie.

    Order cannot bias a checker, so each duel gets a single "ab" row.
    """

    method = "verifier"

    def __init__(self, evaluator: str, name: str = "verifier") -> None:
        self.name = name
        self._is_correct = checker(evaluator)

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        verdicts = []
        for match_id, reference, answer_a, answer_b in zip(
            duels["match_id"], duels["reference"], duels["answer_a"], duels["answer_b"], strict=True
        ):
            score_a = float(self._is_correct(answer_a, reference))
            score_b = float(self._is_correct(answer_b, reference))
            raw = f"A: {_word(score_a)} B: {_word(score_b)}"
            verdicts.append(Verdict(match_id, "ab", score_a, score_b, score_a - score_b, raw))
        return judgments_frame(verdicts, self.name, self.method)


def _word(score: float) -> str:
    return "correct" if score else "wrong"
