"""Answer checkers: how a response is scored against a task's reference answer.

An evaluator pairs ``extract`` (a response -> its canonical answer, or None when it states none) with
``is_correct`` (response, reference -> bool). The verifier judge and the evaluation stage use ``is_correct``;
reference-guided peer judges compare ``extract`` of two answers. Numeric (GSM8K) and MATH answers go
through Hugging Face's math-verify, which parses LaTeX and plain numbers and compares them symbolically (1/2 = 0.5 =
\\frac{1}{2}); multiple-choice answers are matched by their letter.
"""

import re
import string
from collections.abc import Callable
from dataclasses import dataclass

from agon.tasks import arithmetic

LETTERS = string.ascii_uppercase
# A choice is named by its letter: leading ("B", "(B) because", "C. text", "D: ..."), after "answer", or as the
# last "(X)". A bare capital inside a sentence ("I pick A") is too ambiguous to read.
_LEADING_LETTER = re.compile(r"\(?([A-Z])(?:[).:]|\s*$)")
_ANSWER_LETTER = re.compile(r"[Aa]nswer\s*(?:is|:)?\s*\(?([A-Z])\b")
_PAREN_LETTER = re.compile(r"\(([A-Z])\)")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True)
class Evaluator:
    name: str
    extract: Callable[[str], str | None]
    is_correct: Callable[[str, str], bool]


def math_answer(text: str) -> str | None:
    """The answer a response states (a \\boxed{} one first, else the last number or expression)."""
    from math_verify import parse  # with sympy, 1 s to import: only tasks that check math pay it

    parsed = parse(text)
    return str(parsed[0]) if parsed else None


def math_equal(response: str, reference: str) -> bool:
    """Whether the response's answer equals the reference symbolically; a reference is bare LaTeX
    (``\\frac12``, ``(1, 2)``), which math-verify reads only between dollars."""
    from math_verify import parse, verify

    gold = parse(f"${reference}$") or parse(reference)
    return bool(gold) and verify(gold, parse(response))


def choice_letter(text: str) -> str | None:
    """The letter of the choice a response picks, or None when it names none unambiguously."""
    text = text.strip()
    for pattern, find in ((_LEADING_LETTER, re.match), (_ANSWER_LETTER, re.search)):
        match = find(pattern, text)
        if match:
            return match.group(1)
    letters = _PAREN_LETTER.findall(text)
    return letters[-1] if letters else None


def choice_equal(response: str, reference: str) -> bool:
    return choice_letter(response) == reference.strip().upper()


def normalized(text: str) -> str:
    """Lower case without punctuation, articles or repeated spaces (the usual open-QA match)."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def normalized_answer(text: str) -> str | None:
    return normalized(text) or None


def exact_answer(text: str) -> str | None:
    return text.strip() or None


EVALUATORS = {
    "integer": Evaluator("integer", arithmetic.extract_answer, arithmetic.is_correct),
    "math": Evaluator("math", math_answer, math_equal),
    "choice": Evaluator("choice", choice_letter, choice_equal),
    "exact": Evaluator("exact", exact_answer, lambda response, reference: response.strip() == reference.strip()),
    "normalized": Evaluator(
        "normalized", normalized_answer, lambda response, reference: normalized(response) == normalized(reference)
    ),
}


def evaluator(name: str) -> Evaluator:
    try:
        return EVALUATORS[name]
    except KeyError:
        raise ValueError(f"task.evaluator: unknown evaluator {name!r}; known: {sorted(EVALUATORS)}") from None
