"""The Judge role, its config, and the verdict rows every judge writes (the judgments contract)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import pandas as pd

from agon.contracts import JUDGMENTS

# What a judge sees of a duel: the match, its prompt and reference, and both duellists' answers.
DUEL_COLUMNS = ["match_id", "prompt", "reference", "model_a", "model_b", "answer_a", "answer_b"]
# "ab" shows the answers in match order, "ba" swapped: judging both cancels a judge's position bias.
ORDERS = ("ab", "ba")
PEER_MODES = ("likelihood", "score", "reference")

T = TypeVar("T")


class Judge(Protocol):
    name: str
    method: str

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        """Judge every duel (``DUEL_COLUMNS``) and return the judgments table, one row per duel and order."""
        ...


@dataclass(frozen=True)
class JudgeConfig:
    method: str  # "verifier" | "peer" | "logprob"; checked by make_judge, which knows how to build each
    # Likelihood works even for tiny models, which cannot follow a rating instruction; "score" needs a model
    # that can, and is what SPARTA's judges do.
    mode: str = "likelihood"
    batch_size: int = 64  # sequences per forward pass or generate call
    max_new_tokens: int = 16  # score mode: "A: 10 B: 10" is ~10 tokens; room for a little chatter

    def __post_init__(self) -> None:
        if self.mode not in PEER_MODES:
            raise ValueError(f"config key 'judging.judges': peer mode {self.mode!r} is not one of {PEER_MODES}")
        if self.batch_size < 1 or self.max_new_tokens < 1:
            raise ValueError("config key 'judging.judges': batch_size and max_new_tokens must be >= 1")

    @classmethod
    def from_dict(cls, cfg: dict) -> "JudgeConfig":
        """From the validated ``judging`` config section plus the ``method`` of one of its judges."""
        optional = {"peer_mode": "mode", "batch_size": "batch_size", "max_new_tokens": "max_new_tokens"}
        return cls(method=cfg["method"], **{field: cfg[key] for key, field in optional.items() if key in cfg})


@dataclass(frozen=True)
class Verdict:
    """One judge's reading of one duel in one order, already mapped back to the match's own A and B.

    An invalid verdict keeps its raw text and says why in ``error``; its scores stay None, never a default.
    """

    match_id: str
    order: str
    score_a: float | None
    score_b: float | None
    preference: float | None
    raw: str
    error: str = ""

    @classmethod
    def invalid(cls, match_id: str, order: str, raw: str, error: str) -> "Verdict":
        return cls(match_id, order, None, None, None, raw, error)


def in_order(order: str, a: T, b: T) -> tuple[T, T]:
    """``(a, b)`` as shown in ``order``; swapping is its own inverse, so this also maps shown scores back."""
    match order:
        case "ab":
            return a, b
        case "ba":
            return b, a
        case other:
            raise ValueError(f"unknown order {other!r}; expected one of {ORDERS}")


# A comparison request both the logprob judge (the chat template's generation prompt follows, so its next token
# is its choice) and the api judge send; here, so the api judge does not import torch to build it.
CHOICE_TEMPLATE = (
    "Which answer to the question is better?\n"
    "Question: {prompt}\n"
    "Answer A: {first}\n"
    "Answer B: {second}\n"
    "Reply with one letter, A or B."
)


def choice_prompt(prompt: str, answer_a: str, answer_b: str, order: str) -> str:
    """The comparison request for a duel, its answers shown in ``order``."""
    first, second = in_order(order, answer_a, answer_b)
    return CHOICE_TEMPLATE.format(prompt=prompt, first=first, second=second)


def judgments_frame(verdicts: Iterable[Verdict], judge: str, method: str) -> pd.DataFrame:
    """The judgments table of ``verdicts``, typed so that even an empty one satisfies the contract."""
    rows = [
        {
            "match_id": v.match_id,
            "judge": judge,
            "method": method,
            "order": v.order,
            "score_a": v.score_a,
            "score_b": v.score_b,
            "preference": v.preference,
            "raw": v.raw,
            "valid": v.error == "",
            "error": v.error,
        }
        for v in verdicts
    ]
    frame = pd.DataFrame(rows, columns=JUDGMENTS.columns)
    floats = {c: float for c in ("score_a", "score_b", "preference")}
    strings = {c: str for c in ("match_id", "judge", "method", "order", "raw", "error")}
    return frame.astype({**strings, **floats, "valid": bool})
