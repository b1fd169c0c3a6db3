import pandas as pd
import pytest

from agon.generation import Completion
from agon.judging import JudgeConfig
from agon.judging.reference import ReferenceJudge, reference_verdict
from agon.tasks.arithmetic import extract_answer


@pytest.mark.parametrize(
    ("own", "a", "b", "preference"),
    [
        ("12", "12", "13", 1.0),  # only A matches the judge's own answer
        ("12", "11", " 12 ", -1.0),  # only B (answers compare as numbers, spacing aside)
        ("12", "11", "13", 0.0),  # neither: the judge says "neither", it does not pick a near miss
        ("12", "12", "012", 0.0),  # both
    ],
)
def test_the_judge_backs_the_answer_that_matches_its_own(own, a, b, preference):
    verdict = reference_verdict("m", own, a, b, extract_answer)
    assert verdict.preference == preference
    assert verdict.raw == own and verdict.error == ""


def test_a_judge_without_an_answer_of_its_own_gives_no_verdict():
    verdict = reference_verdict("m", "twelve", "12", "13", extract_answer)
    assert verdict.preference is None and verdict.score_a is None
    assert "holds no answer" in verdict.error and verdict.raw == "twelve"


class FixedAnswers:
    """A Generator stand-in that answers from a table: the judge's own answers, chosen by the test."""

    backend = "fixed"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def generate(self, prompts, sampling, seed):
        assert sampling.greedy
        self.asked += prompts
        return [[Completion(self.answers[p], 1, "stop")] for p in prompts]


def test_reference_judge_answers_each_prompt_once_and_maps_verdicts_to_matches():
    duels = pd.DataFrame(
        {
            "match_id": ["m0", "m1", "m2"],
            "prompt": ["What is 1+1?", "What is 1+1?", "What is 2+2?"],
            "reference": ["2", "2", "4"],
            "model_a": ["a", "b", "a"],
            "model_b": ["b", "c", "c"],
            "answer_a": ["2", "3", "5"],
            "answer_b": ["3", "2", "4"],
        }
    )
    generator = FixedAnswers({"What is 1+1?": "2", "What is 2+2?": "oops"})
    judge = ReferenceJudge("d", generator, JudgeConfig(method="peer", mode="reference"), "integer")
    judgments = judge.judge(duels)
    assert sorted(generator.asked) == ["What is 1+1?", "What is 2+2?"]
    assert judgments["preference"].tolist()[:2] == [1.0, -1.0]
    assert not judgments["valid"].iloc[2] and pd.isna(judgments["preference"].iloc[2])
    assert set(judgments["judge"]) == {"d"} and set(judgments["method"]) == {"peer"}
