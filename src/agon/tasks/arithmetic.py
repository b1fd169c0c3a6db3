"""Chat-formatted integer arithmetic with exactly checkable answers: the embedded default task.

Operands ``a`` in [0, max_a] and ``b`` in [0, max_b]; subtraction keeps ``a >= b`` so answers are never negative.
With the defaults (3-digit +/- 1-digit) the pool holds ~20,000 problems: enough to draw 500 fresh preference
prompts per iteration for many iterations, while a 1M-parameter model still learns it in a few hundred steps.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

_INTEGER = re.compile(r"\s*(-?\d+)\s*")


@dataclass(frozen=True)
class ArithmeticConfig:
    max_a: int = 999
    max_b: int = 9
    operations: tuple[str, ...] = ("+", "-")

    def __post_init__(self) -> None:
        unknown = set(self.operations) - {"+", "-", "*"}
        if unknown:
            raise ValueError(f"task.arithmetic.operations: unknown operation(s) {sorted(unknown)}")
        if self.max_a < 0 or self.max_b < 0:
            raise ValueError("task.arithmetic: max_a and max_b must be >= 0")

    @classmethod
    def from_dict(cls, cfg: dict) -> "ArithmeticConfig":
        return cls(max_a=cfg["max_a"], max_b=cfg["max_b"], operations=tuple(cfg["operations"]))


def question(a: int, op: str, b: int) -> str:
    return f"What is {a}{op}{b}?"


def problems(cfg: ArithmeticConfig) -> Iterator[tuple[str, str]]:
    """Yield every (question, answer) of the task in a fixed order."""
    for op in cfg.operations:
        for a in range(cfg.max_a + 1):
            for b in range(cfg.max_b + 1):
                if op == "-" and a < b:
                    continue
                answer = a + b if op == "+" else a - b if op == "-" else a * b
                yield question(a, op, b), str(answer)


def extract_answer(response: str) -> str | None:
    """The integer a response states, or None when it is anything but one integer."""
    match = _INTEGER.fullmatch(response)
    return str(int(match.group(1))) if match else None


def is_correct(response: str, reference: str) -> bool:
    return extract_answer(response) == reference
