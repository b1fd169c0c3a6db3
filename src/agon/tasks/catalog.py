"""The datasets Agon reads by name, each mapped from its published record format to Agon's prompts.

A format turns one raw record into zero or more ``Problem``s (QuALITY holds many questions per article).
Multiple-choice problems keep their option texts in ``choices`` and their reference as the correct option's
letter; where a release lists the right option first (TruthfulQA) or Agon builds the options (knowledge
crosswords), their order is shuffled per record with a seed derived from the run seed, so position says
nothing about correctness.
"""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from agon.seeding import derive_seed
from agon.tasks.evaluators import LETTERS
from agon.tasks.sources import RecordError

CHOICE_INSTRUCTION = "Answer with the letter of the correct choice."


@dataclass
class Problem:
    """One prompt of a task before rendering: the question and whatever the task attaches to it."""

    prompt_id: str
    question: str
    reference: str
    choices: list[str] = field(default_factory=list)
    background: str = ""
    metadata: dict = field(default_factory=dict)


Mapper = Callable[[dict, int, dict, int], Iterator[Problem]]


@dataclass(frozen=True)
class TaskFormat:
    name: str
    fields: tuple[str, ...]  # what every raw record must hold, checked before any mapping
    evaluator: str | None  # None: answers cannot be checked (free-form instructions)
    instruction: str  # appended to each question unless task.instruction says otherwise
    mapper: Mapper
    hub: tuple[str, str | None, str] | None = None  # (dataset id, subset, split) when task.source is left out


# ``index`` is the record's number in the source (0-based, in load order); ``part`` narrows it to a nested item
# (", question 2" for QuALITY). ``agon.tasks.task_problems`` names the file and line of a refused record.
def value(record: dict, key: str, index: int, part: str = "") -> object:
    """``record[key]``; a field the record lacks or leaves empty (null, or blank text) is refused, named."""
    if key not in record:
        raise RecordError(index, f"has no field {key!r} (it has {sorted(record)})", part)
    raw = record[key]
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise RecordError(index, f"field {key!r} is empty; fill it in or drop the record", part)
    return raw


def text(record: dict, key: str, index: int, part: str = "") -> str:
    raw = value(record, key, index, part)
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise RecordError(index, f"field {key!r} is {type(raw).__name__}, expected text", part)
    return str(raw).strip()


def letter_of(answer: object, choices: list[str], index: int, part: str = "") -> str:
    """The letter of the correct choice from an answer given as a letter, a 0-based index or the option text."""
    if isinstance(answer, str) and len(answer.strip()) == 1 and answer.strip().upper() in LETTERS[: len(choices)]:
        return answer.strip().upper()
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(choices):
        return LETTERS[answer]
    if isinstance(answer, str) and answer.strip() in choices:
        return LETTERS[choices.index(answer.strip())]
    raise RecordError(
        index,
        f"answer {answer!r} is neither a letter, a 0-based index nor the text of one of its {len(choices)} choices",
        part,
    )


def shuffled(choices: list[str], correct: int, seed: int, *key: object) -> tuple[list[str], str]:
    """The choices in a seeded order of their own, and the correct one's new letter."""
    order = np.random.default_rng(derive_seed(seed, "choices", *key)).permutation(len(choices))
    return [choices[i] for i in order], LETTERS[int(np.flatnonzero(order == correct)[0])]


def _choice_list(raw: object, index: int, part: str = "") -> list[str]:
    """Options as a list of texts, from a list or a {label: text} mapping (kept in label order)."""
    options = [raw[k] for k in sorted(raw)] if isinstance(raw, dict) else raw
    if not isinstance(options, list | tuple) or len(options) < 2 or not all(isinstance(o, str) for o in options):
        raise RecordError(index, f"needs at least two text choices, got {raw!r}", part)
    if len(options) > len(LETTERS):
        raise RecordError(index, f"has {len(options)} choices, more than {len(LETTERS)}", part)
    return [o.strip() for o in options]


def _id(record: dict, key: str, task: str, index: int) -> str:
    return str(record[key]) if record.get(key) not in (None, "") else f"{task}-{index:06d}"


# GSM8K (openai/gsm8k, config "main"): {"question", "answer"}, the answer a rationale ending "#### <number>".
def gsm8k(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    answer = text(record, "answer", index)
    if "####" not in answer:
        raise RecordError(index, f"field 'answer' has no '#### <number>' final line: {answer[-80:]!r}")
    final = answer.rsplit("####", 1)[1].strip().replace(",", "")
    yield Problem(f"gsm8k-{index:06d}", text(record, "question", index), final)


def boxed(solution: str) -> str | None:
    """The content of the last \\boxed{...} (or \\fbox{...}) in a MATH solution, braces balanced; a few solutions
    write ``\\boxed 5`` without braces, which boxes the next token."""
    start = max(solution.rfind("\\boxed"), solution.rfind("\\fbox"))
    if start < 0:
        return None
    after = solution[start:].removeprefix("\\boxed").removeprefix("\\fbox")
    if after[:1] == " ":
        token = after.split()
        return token[0].rstrip("$.") if token else None
    opening = solution.find("{", start)
    if opening < 0:
        return None
    depth = 0
    for position in range(opening, len(solution)):
        depth += {"{": 1, "}": -1}.get(solution[position], 0)
        if depth == 0:
            return solution[opening + 1 : position].strip()
    return None


_LEVEL = re.compile(r"Level (\d)")


# MATH (Hendrycks et al.): {"problem", "level": "Level 3", "type", "solution"}, the answer in the last \boxed{}.
def math(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    level_text = text(record, "level", index)
    level = _LEVEL.fullmatch(level_text)
    levels = cfg["math"]["levels"]
    if levels and (level is None or int(level.group(1)) not in levels):
        return
    reference = boxed(text(record, "solution", index))
    if reference is None:
        raise RecordError(index, "field 'solution' has no \\boxed{} answer")
    metadata = {"level": level_text, "type": record.get("type")}
    yield Problem(f"math-{index:06d}", text(record, "problem", index), reference, metadata=metadata)


# Alpaca (tatsu-lab/alpaca): {"instruction", "input", "output"}; free-form, so nothing to check answers with.
def alpaca(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    instruction = text(record, "instruction", index)
    extra = str(record.get("input") or "").strip()
    question = f"{instruction}\n\n{extra}" if extra else instruction
    yield Problem(f"alpaca-{index:06d}", question, text(record, "output", index))


# TruthfulQA, config "multiple_choice": {"question", "mc1_targets": {"choices", "labels"}}, one label 1 (listed
# first in the release); config "generation": {"question", "best_answer", "incorrect_answers"}.
def truthfulqa(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    question = text(record, "question", index)
    if "mc1_targets" in record:
        targets = value(record, "mc1_targets", index)
        choices = _choice_list(targets.get("choices"), index)
        labels = list(targets.get("labels") or [])
        if len(labels) != len(choices) or sum(labels) != 1:
            raise RecordError(index, "field 'mc1_targets' needs exactly one label 1 per choice")
        correct = labels.index(1)
    else:
        wrong = value(record, "incorrect_answers", index)
        choices = _choice_list([text(record, "best_answer", index), *wrong], index)
        correct = 0
    choices, letter = shuffled(choices, correct, seed, "truthfulqa", index)
    yield Problem(f"truthfulqa-{index:06d}", question, letter, choices, metadata={"category": record.get("category")})


CULTURE_LABELS = ["yes", "no", "neither"]
# task.culture.context -> (NormAd column, how the prompt names it)
CULTURE_CONTEXT = {
    "country": ("Country", "Country"),
    "value": ("Value", "Value"),
    "rule_of_thumb": ("Rule-of-Thumb", "Rule of thumb"),
}


# Culture, NormAd-ETI (akhilayerukola/NormAd): {"ID", "Country", "Value", "Rule-of-Thumb", "Story", "Gold Label"};
# a story judged against one level of cultural context, as SPARTA's country / value / rule-of-thumb tasks.
def culture(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    column, label = CULTURE_CONTEXT[cfg["culture"]["context"]]
    gold = text(record, "Gold Label", index).lower()
    if gold not in CULTURE_LABELS:
        raise RecordError(index, f"field 'Gold Label' {gold!r} is none of {CULTURE_LABELS}")
    question = (
        f"{label}: {text(record, column, index)}\n"
        f"Story: {text(record, 'Story', index)}\n"
        "Is what the person in the story did socially acceptable there?"
    )
    metadata = {"country": record.get("Country"), "context": cfg["culture"]["context"]}
    letter = LETTERS[CULTURE_LABELS.index(gold)]
    yield Problem(_id(record, "ID", "culture", index), question, letter, CULTURE_LABELS, metadata=metadata)


# Knowledge crosswords (Ding et al., 2023): {"blanks", "source", "relation", "target", "options": {blank: [...]},
# "answer_all": [one answer per blank], "K": {...: [[head, relation, tail], ...]}}. Agon builds four options: the
# right filling and three with some blanks filled wrong, in a seeded order.
def knowledge_crosswords(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    task = "knowledge_crosswords"
    blanks = list(value(record, "blanks", index))
    answers = list(value(record, "answer_all", index))
    candidates = value(record, "options", index)
    if len(answers) != len(blanks) or any(b not in candidates for b in blanks):
        raise RecordError(index, f"needs one answer and a candidate list per blank {blanks}")
    rng = np.random.default_rng(derive_seed(seed, "crossword", index))
    fillings = [answers]
    for wrong_count in range(1, min(3, len(blanks)) + 1):
        filling = list(answers)
        for slot in rng.choice(len(blanks), size=wrong_count, replace=False):
            others = [c for c in candidates[blanks[slot]] if c != answers[slot]]
            if not others:
                raise RecordError(index, f"blank {blanks[slot]!r} has no wrong candidate")
            filling[slot] = others[rng.integers(len(others))]
        fillings.append(filling)
    choices = [", ".join(f"{b}: {f}" for b, f in zip(blanks, filling, strict=True)) for filling in fillings]
    choices, letter = shuffled(choices, 0, seed, task, index)
    lines = ["Pick the filling of the blanks that satisfies every constraint."]
    if cfg["knowledge_crosswords"]["with_knowledge"]:
        triples = [t for group in dict(record.get("K") or {}).values() for t in group]
        if any(len(t) != 3 for t in triples):
            raise RecordError(index, "field 'K' holds an entry that is not a (head, relation, tail)")
        facts = [f"({h}, {r}, {t})" for h, r, t in triples]
        lines.append("Knowledge: " + "; ".join(facts))
    sources, relations, targets = (list(value(record, key, index)) for key in ("source", "relation", "target"))
    if not len(sources) == len(relations) == len(targets):
        raise RecordError(index, "fields 'source', 'relation' and 'target' differ in length")
    triples = zip(sources, relations, targets, strict=True)
    lines.append("Constraints: " + "; ".join(f"({s}, {r}, {t})" for s, r, t in triples))
    yield Problem(f"{task}-{index:06d}", "\n".join(lines), letter, choices)


# Multiple choice as COM2 and most MC releases lay it out: a question, its options, the answer as a letter, a
# 0-based index or the option's text. Field names vary between releases, so the usual spellings are tried.
QUESTION_KEYS = ("question", "query", "context")
CHOICE_KEYS = ("choices", "options", "candidates")
ANSWER_KEYS = ("answer", "label", "answerKey", "correct")


def _first(record: dict, keys: tuple[str, ...], index: int) -> object:
    for key in keys:
        if record.get(key) not in (None, ""):
            return record[key]
    raise RecordError(index, f"has none of the fields {list(keys)} filled (it has {sorted(record)})")


def com2(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    question = str(_first(record, QUESTION_KEYS, index)).strip()
    choices = _choice_list(_first(record, CHOICE_KEYS, index), index)
    letter = letter_of(_first(record, ANSWER_KEYS, index), choices, index)
    yield Problem(_id(record, "id", "com2", index), question, letter, choices)


# QuALITY (Pang et al., 2022) JSON Lines: one article per line, {"article_id", "title", "article", "questions":
# [{"question", "options" (4), "gold_label" (1-based), "question_unique_id", "difficult"}]}. The test release has
# no gold labels; such questions are skipped.
def quality(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    article = text(record, "article", index)
    for number, item in enumerate(value(record, "questions", index)):
        part = f", question {number + 1}"
        if item.get("gold_label") is None or (cfg["quality"]["hard_only"] and not item.get("difficult")):
            continue
        choices = _choice_list(item.get("options"), index, part)
        letter = letter_of(int(item["gold_label"]) - 1, choices, index, part)
        metadata = {"article_id": record.get("article_id"), "title": record.get("title")}
        metadata["difficult"] = item.get("difficult")
        prompt_id = _id(item, "question_unique_id", "quality", index * 1000 + number)
        yield Problem(prompt_id, text(item, "question", index, part), letter, choices, article, metadata)


# The user's own data: config maps Agon's fields to the file's columns (task.custom).
def custom(record: dict, index: int, cfg: dict, seed: int) -> Iterator[Problem]:
    columns = cfg["custom"]
    reference = text(record, columns["reference"], index) if columns["reference"] else ""
    choices: list[str] = []
    if columns["choices"]:
        choices = _choice_list(value(record, columns["choices"], index), index)
        reference = letter_of(value(record, columns["reference"], index), choices, index)
    background = text(record, columns["background"], index) if columns["background"] else ""
    metadata = {key: record[key] for key in columns["metadata"]}
    prompt_id = text(record, columns["id"], index) if columns["id"] else f"custom-{index:06d}"
    yield Problem(prompt_id, text(record, columns["prompt"], index), reference, choices, background, metadata)


FORMATS = {
    f.name: f
    for f in (
        TaskFormat(
            "gsm8k",
            ("question", "answer"),
            "math",
            "Give the final answer as a number.",
            gsm8k,
            ("openai/gsm8k", "main", "train"),
        ),
        TaskFormat("math", ("problem", "solution", "level"), "math", "Give the final answer in \\boxed{}.", math),
        TaskFormat("alpaca", ("instruction", "output"), None, "", alpaca, ("tatsu-lab/alpaca", None, "train")),
        TaskFormat(
            "truthfulqa",
            ("question",),
            "choice",
            CHOICE_INSTRUCTION,
            truthfulqa,
            ("truthfulqa/truthful_qa", "multiple_choice", "validation"),
        ),
        TaskFormat("culture", ("Story", "Gold Label"), "choice", CHOICE_INSTRUCTION, culture),
        TaskFormat(
            "knowledge_crosswords",
            ("blanks", "options", "answer_all", "source", "relation", "target"),
            "choice",
            CHOICE_INSTRUCTION,
            knowledge_crosswords,
        ),
        TaskFormat("com2", (), "choice", CHOICE_INSTRUCTION, com2),
        TaskFormat("quality", ("article", "questions"), "choice", CHOICE_INSTRUCTION, quality),
        TaskFormat("custom", (), None, "", custom),
    )
}


def render(problem: Problem, instruction: str, with_background: bool) -> str:
    """The user turn a model sees: background (unless a debate keeps it for the debaters), question, lettered
    choices and the answer instruction, as paragraphs."""
    parts = [problem.background] if with_background and problem.background else []
    parts.append(problem.question)
    if problem.choices:
        parts.append("\n".join(f"{LETTERS[i]}. {choice}" for i, choice in enumerate(problem.choices)))
    if instruction:
        parts.append(instruction)
    return "\n\n".join(parts)


def metadata_json(metadata: dict) -> str:
    return json.dumps(metadata, sort_keys=True, default=str)
