"""Every dataset task loaded from a fixture in its published format: prompts, references, splits, evaluators and
the errors that bad data and bad task configs raise (tests/task_fixtures.py writes the data; nothing downloads)."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from agon.config import ConfigError, validate_config
from agon.contracts import PROMPTS, read_table
from agon.tasks import (
    answer_extractor,
    checker,
    evaluator_name,
    instruction,
    make_splits,
    task_problems,
    write_splits,
)
from agon.tasks.catalog import CHOICE_INSTRUCTION, boxed
from agon.tasks.evaluators import LETTERS
from agon.tasks.sources import TaskDataError

from . import task_fixtures as fx


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """One folder with every fixture dataset, written once for the module."""
    root = tmp_path_factory.mktemp("task-data")
    fx.write_gsm8k(root / "gsm8k.jsonl")
    fx.write_gsm8k(root / "gsm8k.parquet")
    fx.write_math_tree(root / "MATH")
    fx.write_math(root / "math.jsonl")
    fx.write_alpaca(root / "alpaca_data.json")
    fx.write_truthfulqa(root / "truthfulqa_mc.parquet")
    fx.write_truthfulqa(root / "truthfulqa_gen.parquet", layout="generation")
    fx.write_normad(root / "normad.csv")
    fx.write_normad(root / "normad.parquet")
    fx.write_knowledge_crosswords(root / "kc.jsonl")
    fx.write_com2(root / "com2.json")
    fx.write_quality(root / "quality.jsonl")
    fx.write_custom(root / "custom.jsonl")
    return root


def by_id(problems) -> dict:
    return {p.prompt_id: p for p in problems}


def chosen_text(problem) -> str:
    return problem.choices[LETTERS.index(problem.reference)]


# Loading each task ------------------------------------------------------------------------------------------------


def test_fixture_answers_are_right():
    # the workflow tests score answers against these references: the fixtures' own arithmetic must hold
    for i in range(60):
        answer = fx.gsm8k_record(i)["answer"]
        steps = re.findall(r"<<(\d+)([*-])(\d+)=(\d+)>>", answer)
        assert len(steps) == 2
        for a, op, b, result in steps:
            assert (int(a) * int(b) if op == "*" else int(a) - int(b)) == int(result)
        assert answer.rsplit("#### ", 1)[1].replace(",", "") == steps[-1][3]
        record = fx.crossword_record(i)
        assert all(a in record["options"][b] for b, a in zip(record["blanks"], record["answer_all"], strict=True))
        for question in fx.quality_record(i)["questions"]:
            if "gold_label" in question:
                assert question["options"][question["gold_label"] - 1].startswith(("She ran", "Every", "The radio"))


@pytest.mark.parametrize("file", ["gsm8k.jsonl", "gsm8k.parquet"])
def test_gsm8k_reference_is_the_number_after_the_hashes_without_commas(data, file):
    records = [fx.gsm8k_record(i) for i in range(60)]
    problems = task_problems(fx.task_config("gsm8k", data / file))
    assert [p.prompt_id for p in problems] == [f"gsm8k-{i:06d}" for i in range(60)]
    for record, problem in zip(records, problems, strict=True):
        assert problem.question == record["question"]
        assert problem.reference == record["answer"].rsplit("#### ", 1)[1].replace(",", "")
        assert problem.choices == [] and problem.background == ""
    # record 3 totals 3600 pencils, less 3 given away: written "#### 3,597"
    assert records[3]["answer"].endswith("#### 3,597")
    assert problems[3].reference == "3597"
    assert problems[5].reference == str(8 * 17 - 0)


def test_gsm8k_prompt_ends_with_the_instruction(data):
    task = fx.task_config("gsm8k", data / "gsm8k.jsonl")
    frame = make_splits(task, seed=0)["heldout"]
    row = frame.iloc[0]
    question = fx.gsm8k_record(int(row.prompt_id.split("-")[1]))["question"]
    assert row.prompt == f"{question}\n\nGive the final answer as a number."
    assert set(frame["metadata"]) == {"{}"}
    assert set(frame["split"]) == {"heldout"}


def test_math_release_folder_and_jsonl_give_the_same_problems(data, tmp_path):
    tree = task_problems(fx.task_config("math", data / "MATH" / "train"))
    lines = task_problems(fx.task_config("math", data / "math.jsonl"))
    assert len(tree) == len(lines) == 60
    # the folder is read in sorted path order, so ids number the files in that order
    expected = fx.write_math_tree(tmp_path / "MATH")
    assert [p.question for p in tree] == [r["problem"] for r in expected]
    assert {p.question: p.reference for p in tree} == {p.question: p.reference for p in lines}
    problem = lines[1]  # 2/3 + 1/3
    assert problem.reference == "1"
    assert lines[4].reference == "\\frac{13}{6}"  # 5/3 + 1/2
    assert json.loads(json.dumps(lines[2].metadata)) == {"level": "Level 3", "type": "Number Theory"}


def test_math_reference_is_the_last_box_with_nested_braces(data):
    problems = task_problems(fx.task_config("math", data / "math.jsonl"))
    for i, problem in enumerate(problems):
        answer = fx.math_answer(i)
        expected = str(answer.numerator) if answer.denominator == 1 else f"\\frac{{{answer.numerator}}}"
        assert problem.reference.startswith(expected), (i, problem.reference)
    # record 0 boxes 1/2 first, then the answer 1
    assert fx.math_record(0)["solution"].count("\\boxed") == 2
    assert problems[0].reference == "1"
    assert boxed("so $\\boxed{x^{2} + \\frac{1}{2}}$ holds") == "x^{2} + \\frac{1}{2}"
    assert boxed("first \\boxed{1}, then \\fbox{\\sqrt{2}}.") == "\\sqrt{2}"
    assert boxed("no answer here") is None
    assert boxed("\\boxed{\\frac{1}{2}") is None


def test_math_levels_keep_only_those_levels(data):
    task = fx.task_config("math", data / "math.jsonl", math={"levels": [1, 2]})
    problems = task_problems(task)
    assert len(problems) == 24
    assert {p.metadata["level"] for p in problems} == {"Level 1", "Level 2"}
    # ids still number the records of the file
    assert problems[0].prompt_id == "math-000000" and problems[1].prompt_id == "math-000001"
    assert problems[2].prompt_id == "math-000005"
    frame = make_splits({**task, "heldout_size": 4, "preference_size": 4}, seed=0)["train"]
    assert all(json.loads(m)["level"] in ("Level 1", "Level 2") for m in frame["metadata"])
    assert all(p.endswith("Give the final answer in \\boxed{}.") for p in frame["prompt"])


def test_alpaca_joins_instruction_and_input_and_has_no_instruction_suffix(data):
    task = fx.task_config("alpaca", data / "alpaca_data.json")
    problems = task_problems(task)
    assert len(problems) == 60
    empty, full = problems[0], problems[1]
    assert empty.question == fx.alpaca_record(0)["instruction"]
    assert full.question == f"{fx.alpaca_record(1)['instruction']}\n\n{fx.alpaca_record(1)['input']}"
    assert full.reference == fx.alpaca_record(1)["output"]
    assert instruction(task) == "" and evaluator_name(task) is None
    splits = make_splits(task, seed=0)
    questions = {p.prompt_id: p.question for p in problems}
    assert all(row.prompt == questions[row.prompt_id] for row in splits["train"].itertuples())


@pytest.mark.parametrize("file", ["truthfulqa_mc.parquet", "truthfulqa_gen.parquet"])
def test_truthfulqa_reference_letter_points_at_the_true_answer(data, file):
    problems = task_problems(fx.task_config("truthfulqa", data / file), seed=0)
    assert len(problems) == 60
    for i, problem in enumerate(problems):
        question, best, wrong = fx.truthfulqa_texts(i)
        assert problem.prompt_id == f"truthfulqa-{i:06d}"
        assert problem.question == question
        assert sorted(problem.choices) == sorted([best, *wrong])
        assert chosen_text(problem) == best
    if "gen" in file:
        assert problems[1].metadata == {"category": "Health"}


def test_truthfulqa_shuffle_moves_the_true_answer_and_is_seeded(data):
    task = fx.task_config("truthfulqa", data / "truthfulqa_mc.parquet")
    first = task_problems(task, seed=0)
    letters = Counter(p.reference for p in first)
    assert len(letters) >= 3 and letters["A"] < 40, letters  # the release lists the true answer first
    again = task_problems(task, seed=0)
    assert [(p.choices, p.reference) for p in again] == [(p.choices, p.reference) for p in first]
    other = task_problems(task, seed=1)
    assert [p.reference for p in other] != [p.reference for p in first]
    assert all(chosen_text(p) == fx.truthfulqa_texts(i)[1] for i, p in enumerate(other))


def test_truthfulqa_prompt_lists_lettered_choices_then_the_instruction(data):
    task = fx.task_config("truthfulqa", data / "truthfulqa_mc.parquet")
    row = make_splits(task, seed=3)["preference"].iloc[0]
    problem = by_id(task_problems(task, seed=3))[row.prompt_id]
    lines = "\n".join(f"{LETTERS[k]}. {c}" for k, c in enumerate(problem.choices))
    assert row.prompt == f"{problem.question}\n\n{lines}\n\n{CHOICE_INSTRUCTION}"
    assert list(row.choices) == problem.choices and row.reference == problem.reference


@pytest.mark.parametrize("file", ["normad.csv", "normad.parquet"])
@pytest.mark.parametrize(
    ("context", "shown"),
    [("country", "Country: japan"), ("value", "Value: Respect for the host's home (0)."), ("rule_of_thumb", None)],
)
def test_culture_story_is_judged_against_the_configured_context(data, file, context, shown):
    task = fx.task_config("culture", data / file, culture={"context": context})
    problems = task_problems(task)
    assert [p.prompt_id for p in problems] == [str(i) for i in range(60)]
    first = problems[0]
    shown = shown or "Rule of thumb: Remove shoes when entering home 0."
    assert first.question.startswith(shown + "\nStory: At a friend's house in japan, guest 0 took off her shoes")
    assert first.choices == ["yes", "no", "neither"]
    assert [p.reference for p in problems[:3]] == ["A", "B", "C"]
    assert first.metadata == {"country": "japan", "context": context}
    for other in {"Country: ", "Value: ", "Rule of thumb: "} - {shown.split(": ")[0] + ": "}:
        assert other not in first.question


def test_knowledge_crosswords_options_hold_one_right_filling(data):
    records = [fx.crossword_record(i) for i in range(60)]
    problems = task_problems(fx.task_config("knowledge_crosswords", data / "kc.jsonl"), seed=0)
    assert len(problems) == 60
    for record, problem in zip(records, problems, strict=True):
        right = ", ".join(f"{b}: {a}" for b, a in zip(record["blanks"], record["answer_all"], strict=True))
        assert chosen_text(problem) == right
        assert problem.choices.count(right) == 1 and len(set(problem.choices)) == len(problem.choices)
        assert len(problem.choices) == min(4, len(record["blanks"]) + 1)
        assert "Constraints: (blank 1, born in, blank 2)" in problem.question
        assert "Knowledge:" not in problem.question
    assert len(Counter(p.reference for p in problems)) >= 3
    again = task_problems(fx.task_config("knowledge_crosswords", data / "kc.jsonl"), seed=0)
    assert [(p.choices, p.reference) for p in again] == [(p.choices, p.reference) for p in problems]
    other = task_problems(fx.task_config("knowledge_crosswords", data / "kc.jsonl"), seed=5)
    assert [p.choices for p in other] != [p.choices for p in problems]


def test_knowledge_crosswords_with_knowledge_adds_the_triples(data):
    task = fx.task_config("knowledge_crosswords", data / "kc.jsonl", knowledge_crosswords={"with_knowledge": True})
    problems = task_problems(task)
    first = problems[0]
    assert "Knowledge: (Ann0, born in, Lima0); (Ann0, plays for, Bees0); (Bees0, based in, Region0)" in first.question
    assert first.question.index("Knowledge:") < first.question.index("Constraints:")
    assert "Knowledge: (Bo4, born in, Kyiv4)\n" in problems[4].question  # two blanks, one triple


@pytest.mark.parametrize(
    ("answer", "options_key", "suffix"),
    [("letter", "choices", ".json"), ("index", "options", ".jsonl"), ("text", "choices", ".jsonl")],
)
def test_com2_answer_as_letter_index_or_text(tmp_path, answer, options_key, suffix):
    path = tmp_path / f"com2{suffix}"
    records = fx.write_com2(path, n=12, answer=answer, options_key=options_key)
    problems = task_problems(fx.task_config("com2", path))
    assert [p.prompt_id for p in problems] == [f"com2-q{i}" for i in range(12)]
    for i, problem in enumerate(problems):
        assert chosen_text(problem) == f"The road {i} froze."
        assert problem.choices == records[i][options_key]
    assert [p.reference for p in problems[:4]] == ["A", "D", "C", "B"]


def test_quality_questions_of_an_article_share_its_background(data):
    problems = task_problems(fx.task_config("quality", data / "quality.jsonl"))
    assert len(problems) == 60  # 20 articles, 3 labelled questions each
    ids = by_id(problems)
    assert "20000_Q3" not in ids  # no gold_label, as in the test release
    question = ids["20003_Q2"]
    record = fx.quality_record(3)
    assert question.background == record["article"]
    assert question.question == record["questions"][2]["question"]
    assert chosen_text(question) == "The radio."
    assert question.reference == LETTERS[record["questions"][2]["gold_label"] - 1]
    assert question.metadata == {"article_id": "20003", "title": "Base 3", "difficult": 1}


def test_quality_prompt_holds_the_article_unless_the_background_is_kept_apart(data):
    task = fx.task_config("quality", data / "quality.jsonl")
    with_passage = make_splits(task, seed=0)["heldout"]
    without = make_splits(task, seed=0, with_background=False)["heldout"]
    assert list(with_passage["prompt_id"]) == list(without["prompt_id"])
    for full, bare in zip(with_passage.itertuples(), without.itertuples(), strict=True):
        assert full.background.startswith("Mara ran moon base") and bare.background == full.background
        assert full.prompt == f"{full.background}\n\n{bare.prompt}"
        assert "Mara ran moon base" not in bare.prompt
        assert bare.prompt.endswith(CHOICE_INSTRUCTION)


def test_quality_hard_only_keeps_the_difficult_questions(data):
    problems = task_problems(fx.task_config("quality", data / "quality.jsonl", quality={"hard_only": True}))
    assert len(problems) == 30  # question 1 of every article, question 2 of every other one
    assert all(p.metadata["difficult"] == 1 for p in problems)
    assert {p.prompt_id for p in problems if p.prompt_id.endswith("_Q2")} == {f"{20001 + 2 * k}_Q2" for k in range(10)}


def test_custom_columns_map_the_users_fields(data):
    task = fx.task_config("custom", data / "custom.jsonl", custom=fx.CUSTOM_COLUMNS)
    assert evaluator_name(task) == "choice"
    problems = task_problems(task)
    first = by_id(problems)["user-001"]
    assert first.question == "How far did runner 1 go?"
    assert first.choices == ["2 meters", "3 meters", "4 meters"] and first.reference == "B"
    assert first.background == "Runner 1 jogged 3 meters before resting."
    assert first.metadata == {"domain": "travel", "difficulty": 1}
    frame = make_splits(task, seed=0)["train"]
    row = frame.iloc[0]
    assert json.loads(row.metadata).keys() == {"domain", "difficulty"}
    assert row.prompt.startswith(row.background + "\n\n") and row.prompt.endswith("C. " + row.choices[2])


def test_custom_free_form_and_its_own_instruction(tmp_path):
    path = tmp_path / "mine.csv"
    fx.write_custom(path, n=20)
    task = fx.task_config(
        "custom", path, custom={"prompt": "query_text", "reference": "passage"}, instruction="Answer briefly."
    )
    assert evaluator_name(task) is None
    problems = task_problems(task)
    assert problems[0].prompt_id == "custom-000000" and problems[0].choices == []
    assert problems[0].reference == "Runner 0 jogged 1 meters before resting."
    frame = make_splits(task, seed=0)["heldout"]
    assert all(p.endswith("?\n\nAnswer briefly.") for p in frame["prompt"])


def test_instruction_override_and_empty_instruction(data):
    task = fx.task_config("gsm8k", data / "gsm8k.jsonl", instruction="")
    assert instruction(task) == ""
    assert all(p.endswith("left?") for p in make_splits(task, seed=0)["heldout"]["prompt"])


# Splits --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "file", "extra"),
    [
        ("gsm8k", "gsm8k.jsonl", {}),
        ("math", "MATH/train", {}),
        ("truthfulqa", "truthfulqa_mc.parquet", {}),
        ("culture", "normad.csv", {}),
        ("knowledge_crosswords", "kc.jsonl", {}),
        ("quality", "quality.jsonl", {}),
        ("custom", "custom.jsonl", {"custom": fx.CUSTOM_COLUMNS}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_splits_are_disjoint_complete_and_seeded(data, name, file, extra):
    task = fx.task_config(name, data / file, heldout_size=7, preference_size=11, **extra)
    pool = task_problems(task, seed=0)
    splits = make_splits(task, seed=0)
    ids = {split: list(frame["prompt_id"]) for split, frame in splits.items()}
    assert [len(ids[s]) for s in ("heldout", "preference", "train")] == [7, 11, len(pool) - 18]
    assert sorted(ids["heldout"] + ids["preference"] + ids["train"]) == sorted(p.prompt_id for p in pool)
    again = make_splits(task, seed=0)
    for split, frame in splits.items():
        assert frame.equals(again[split]), split
    other = make_splits(task, seed=1)
    assert list(other["heldout"]["prompt_id"]) != ids["heldout"]
    references = {p.prompt_id: p.reference for p in pool}
    assert all(references[r.prompt_id] == r.reference for r in splits["train"].itertuples())


def test_write_splits_keeps_choices_background_and_metadata(data, tmp_path):
    task = fx.task_config("quality", data / "quality.jsonl")
    paths = {split: str(tmp_path / f"{split}.parquet") for split in ("train", "preference", "heldout")}
    write_splits(task, 0, paths, with_background=False)
    expected = make_splits(task, 0, with_background=False)
    for split, path in paths.items():
        frame = read_table(path, PROMPTS)
        assert list(frame.columns[:4]) == ["prompt_id", "prompt", "reference", "split"]
        assert list(frame["prompt_id"]) == list(expected[split]["prompt_id"])
        for row, want in zip(frame.itertuples(), expected[split].itertuples(), strict=True):
            assert list(row.choices) == want.choices and all(isinstance(c, str) for c in row.choices)
            assert row.background == want.background and row.background.startswith("Mara")
            assert json.loads(row.metadata) == json.loads(want.metadata)
            assert row.prompt == want.prompt and row.reference == want.reference


def test_write_splits_of_a_task_without_choices(data, tmp_path):
    task = fx.task_config("gsm8k", data / "gsm8k.parquet")
    paths = {split: str(tmp_path / f"{split}.parquet") for split in ("train", "preference", "heldout")}
    write_splits(task, 0, paths)
    frame = read_table(paths["heldout"], PROMPTS)
    assert len(frame) == 5
    assert all(len(c) == 0 for c in frame["choices"]) and set(frame["background"]) == {""}
    assert set(frame["metadata"]) == {"{}"}


# Evaluators ----------------------------------------------------------------------------------------------------------


def test_gsm8k_references_are_checked_by_math_verify(data):
    task = fx.task_config("gsm8k", data / "gsm8k.jsonl")
    assert evaluator_name(task) == "math"
    is_correct = checker(evaluator_name(task))
    for problem in task_problems(task)[:12]:
        number = int(problem.reference)
        assert is_correct(f"So {number:,} pencils. The answer is {number:,}", problem.reference)
        assert is_correct(f"#### {number}", problem.reference)
        assert not is_correct(f"The answer is {number + 1}", problem.reference)
    assert is_correct("The answer is 1,234", "1234")
    assert not is_correct("The answer is 1,243", "1234")


def test_math_references_are_checked_symbolically(data):
    task = fx.task_config("math", data / "math.jsonl")
    is_correct = checker(evaluator_name(task))
    problems = task_problems(task)[:10]
    for i, problem in enumerate(problems):
        value = fx.math_answer(i)
        assert is_correct(f"The sum is $\\boxed{{{problem.reference}}}$.", problem.reference)
        assert is_correct(f"\\boxed{{{value.numerator}/{value.denominator}}}", problem.reference)
        assert not is_correct(f"\\boxed{{{value.numerator + 1}/{value.denominator}}}", problem.reference)
    assert is_correct("\\boxed{0.5}", "\\frac12")
    assert is_correct("\\boxed{\\dfrac{1}{2}}", "0.5")
    assert not is_correct("\\boxed{0.25}", "\\frac12")
    assert answer_extractor("math")("so \\boxed{\\frac{1}{2}}") == answer_extractor("math")("\\boxed{0.5}")


@pytest.mark.parametrize(
    ("response", "letter"),
    [
        ("(B)", "B"),
        ("B. It makes you taller.", "B"),
        ("B", "B"),
        ("The answer is C", "C"),
        ("Answer: (D) because", "D"),
        ("I compared (A) with (C), so (C)", "C"),
        ("I pick A", None),
        ("no idea", None),
    ],
)
def test_choice_letters_are_read_from_answers(response, letter):
    assert answer_extractor("choice")(response) == letter
    assert checker("choice")(response, "C") == (letter == "C")


def test_multiple_choice_tasks_score_their_own_references(data):
    for name, file in [
        ("truthfulqa", "truthfulqa_mc.parquet"),
        ("culture", "normad.csv"),
        ("quality", "quality.jsonl"),
    ]:
        task = fx.task_config(name, data / file)
        assert evaluator_name(task) == "choice"
        is_correct = checker("choice")
        for problem in task_problems(task)[:10]:
            wrong = next(letter for letter in LETTERS[: len(problem.choices)] if letter != problem.reference)
            assert is_correct(f"{problem.reference}. {chosen_text(problem)}", problem.reference)
            assert is_correct(f"The answer is ({problem.reference})", problem.reference)
            assert not is_correct(f"({wrong})", problem.reference)


def test_normalized_and_exact_evaluators():
    normalized, exact = checker("normalized"), checker("exact")
    assert normalized("The Eiffel Tower!", "eiffel   tower")
    assert normalized("an apple.", "Apple")
    assert not normalized("The Eiffel", "Eiffel Tower")
    assert answer_extractor("normalized")("  The Cat, a dog. ") == "cat dog"
    assert answer_extractor("normalized")("The.") is None
    assert exact(" 42\n", "42") and not exact("42.", "42")
    assert answer_extractor("exact")("   ") is None
    assert checker("integer")("42", "42") and not checker("integer")("The answer is 42", "42")
    assert answer_extractor("integer")("-7") == "-7"
    with pytest.raises(ValueError, match=r"unknown evaluator 'fuzzy'"):
        checker("fuzzy")


def test_evaluator_name_is_the_tasks_own_or_the_configs():
    defaults = {
        "arithmetic": "integer",
        "gsm8k": "math",
        "math": "math",
        "alpaca": None,
        "truthfulqa": "choice",
        "culture": "choice",
        "knowledge_crosswords": "choice",
        "com2": "choice",
        "quality": "choice",
        "custom": None,
    }
    for name, expected in defaults.items():
        assert evaluator_name({"name": name, "evaluator": None, "custom": {"choices": None}}) == expected, name
    # custom data with options is multiple choice
    assert evaluator_name({"name": "custom", "evaluator": None, "custom": {"choices": "opts"}}) == "choice"
    assert evaluator_name({"name": "alpaca", "evaluator": "normalized"}) == "normalized"
    assert evaluator_name({"name": "gsm8k", "evaluator": "integer"}) == "integer"


# Bad data -----------------------------------------------------------------------------------------------------------


def load(name: str, source: Path, **task):
    return task_problems(fx.task_config(name, source, **task))


@pytest.fixture
def tiny_gsm8k(tmp_path) -> Path:
    """A valid source for task_config; tests then point task.source at the bad file (which validation would
    refuse only when it is missing)."""
    fx.write_gsm8k(tmp_path / "gsm8k.jsonl", n=3)
    return tmp_path / "gsm8k.jsonl"


def test_truncated_jsonl_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    fx.write_gsm8k(path, n=10)
    lines = path.read_text().splitlines()
    lines[4] = lines[4][: len(lines[4]) // 2]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TaskDataError, match=rf"{re.escape(str(path))} line 5: not a JSON record"):
        load("gsm8k", path)


def test_malformed_json_document_names_the_line(tmp_path):
    path = tmp_path / "alpaca.json"
    fx.write_alpaca(path, n=5)
    text = path.read_text().replace('"output"', '"output":', 1)
    path.write_text(text)
    line = text[: text.index('"output":')].count("\n") + 1
    with pytest.raises(TaskDataError, match=rf"{re.escape(str(path))} line {line}: not valid JSON"):
        load("alpaca", path)


def test_json_lines_named_json_are_read(tmp_path):
    # datasets reads (and its to_json writes) JSON Lines under a .json name
    path = tmp_path / "gsm8k.json"
    records = fx.write_gsm8k(tmp_path / "gsm8k.jsonl", n=8)
    fx.write_jsonl(path, records)
    assert len(load("gsm8k", path)) == 8
    path.write_text(path.read_text() + '{"question": "x",\n')
    with pytest.raises(TaskDataError, match=rf"{re.escape(str(path))} line 9: not a JSON record"):
        load("gsm8k", path)


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("words.json", '"just a string"', r"words.json holds a JSON str, not records"),
        ("numbers.jsonl", "[1, 2]\n", r"numbers.jsonl line 1: a JSON list, not an object"),
        ("empty.jsonl", "\n\n", r"empty.jsonl is empty"),
        ("empty.csv", "", r"empty.csv could not be read as csv"),
        ("broken.parquet", "PAR1 not really", r"broken.parquet could not be read as parquet"),
    ],
)
def test_files_that_hold_no_records_are_named(tmp_path, tiny_gsm8k, file, text, message):
    path = tmp_path / file
    path.write_text(text)
    with pytest.raises(TaskDataError, match=message):
        task_problems({**fx.task_config("gsm8k", tiny_gsm8k), "source": str(path)})


def test_json_array_of_values_is_not_records(tmp_path, tiny_gsm8k):
    path = tmp_path / "numbers.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(TaskDataError, match=r"numbers.json has no field\(s\) \['question', 'answer'\]"):
        task_problems({**fx.task_config("gsm8k", tiny_gsm8k), "source": str(path)})


def test_missing_file_is_named(tmp_path, tiny_gsm8k):
    task = {**fx.task_config("gsm8k", tiny_gsm8k), "source": str(tmp_path / "gone.jsonl")}
    with pytest.raises(TaskDataError, match=r"task.source: .*gone.jsonl not found"):
        task_problems(task)
    with pytest.raises(ConfigError, match=r"config key 'task.source': .*gone.jsonl not found"):
        fx.task_config("gsm8k", tmp_path / "gone.jsonl")


def test_missing_column_names_the_field_and_the_file(tmp_path):
    path = tmp_path / "normad.csv"
    fx.write_normad(path, n=6)
    path.write_text(path.read_text().replace("Gold Label", "Label", 1))
    with pytest.raises(TaskDataError, match=r"normad.csv has no field\(s\) \['Gold Label'\] that culture records"):
        load("culture", path)


def test_record_missing_a_field_names_the_field_and_the_record(tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    records = fx.write_gsm8k(path, n=6)
    del records[3]["answer"]
    fx.write_jsonl(path, records)
    # datasets gives a key one record lacks to every record, null where it is missing: an empty field
    place = re.escape(f"task.source: record 4 (line 4) of {path}: ")
    with pytest.raises(TaskDataError, match=place + "field 'answer' is empty; fill it in or drop the record"):
        load("gsm8k", path)
    records[3]["answer"] = "forty two"
    fx.write_jsonl(path, records)
    with pytest.raises(TaskDataError, match=place + "field 'answer' has no '#### <number>' final line"):
        load("gsm8k", path)


def test_bad_record_fields_name_the_record(tmp_path):
    path = tmp_path / "quality.jsonl"
    records = fx.write_quality(path, n=3)
    records[2]["questions"][1]["options"] = ["only one"]
    fx.write_jsonl(path, records)
    with pytest.raises(TaskDataError, match=r"record 3 \(line 3\) of .*quality.jsonl, question 2: needs at least two"):
        load("quality", path)
    path = tmp_path / "com2.jsonl"
    records = fx.write_com2(path, n=3, answer="letter")
    records[1]["answer"] = "Q"
    fx.write_jsonl(path, records)
    with pytest.raises(TaskDataError, match=r"record 2 \(line 2\) of .*com2.jsonl: answer 'Q' is neither a letter"):
        load("com2", path)
    path = tmp_path / "normad.csv"
    fx.write_normad(path, n=4)
    path.write_text(path.read_text().replace(",neither\n", ",maybe\n", 1))
    with pytest.raises(TaskDataError, match=r"record 3 \(line 4\) of .*normad.csv: field 'Gold Label' 'maybe' is none"):
        load("culture", path)


def test_record_shapes_the_loaders_refuse_name_the_record(tmp_path):
    path = tmp_path / "kc.jsonl"
    records = fx.write_knowledge_crosswords(path, n=3)
    records[1]["relation"] = records[1]["relation"][:-1]
    fx.write_jsonl(path, records)
    with pytest.raises(TaskDataError, match=r"record 2 \(line 2\) of .*kc.jsonl: fields 'source', 'relation' and"):
        load("knowledge_crosswords", path)
    path = tmp_path / "mine.jsonl"
    records = fx.write_custom(path, n=3)
    for record in records:  # datasets gives a field some records lack to all of them, as null
        del record["domain"]
    fx.write_jsonl(path, records)
    with pytest.raises(TaskDataError, match=r"mine.jsonl has no column 'domain' \(named by task.custom.metadata\)"):
        load("custom", path, custom=fx.CUSTOM_COLUMNS)


def test_a_math_box_without_braces_boxes_the_next_token():
    assert boxed("so the answer is $\\boxed 5$.") == "5"
    assert boxed("\\boxed{\\frac{1}{2}} then \\fbox{3}") == "3"
    assert boxed("no box here") is None


def test_folder_mixing_formats_is_refused(tmp_path):
    fx.write_gsm8k(tmp_path / "mixed" / "a.jsonl", n=3)
    fx.write_gsm8k(tmp_path / "mixed" / "b.parquet", n=3)
    with pytest.raises(TaskDataError, match=r"folder .*mixed mixes \['json', 'parquet'\] files; keep one format"):
        load("gsm8k", tmp_path / "mixed")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.txt").write_text("hi")
    with pytest.raises(TaskDataError, match=r"folder .*nothing holds no .json"):
        load("gsm8k", tmp_path / "nothing")


def test_folder_of_json_and_jsonl_reads_both(tmp_path):
    fx.write_gsm8k(tmp_path / "parts" / "a.jsonl", n=3)
    records = [fx.gsm8k_record(i) for i in range(3, 5)]
    (tmp_path / "parts" / "b.json").write_text(json.dumps(records))
    assert len(load("gsm8k", tmp_path / "parts")) == 5


def test_duplicate_custom_ids_are_named(tmp_path):
    path = tmp_path / "custom.jsonl"
    records = fx.write_custom(path, n=6)
    records[4]["uid"] = records[1]["uid"]
    fx.write_jsonl(path, records)
    with pytest.raises(TaskDataError, match=r"custom.jsonl repeats prompt id\(s\) \['user-001'\]; ids must be unique"):
        load("custom", path, custom=fx.CUSTOM_COLUMNS)


def test_hub_id_that_cannot_load_offline_is_named(tiny_gsm8k):
    task = {**fx.task_config("gsm8k", tiny_gsm8k), "source": "agon-tests/no-such-dataset", "subset": "main"}
    with pytest.raises(TaskDataError, match=r"'agon-tests/no-such-dataset' is neither a local file nor a loadable Hub"):
        task_problems(task)


def test_task_without_a_default_source_says_so(tiny_gsm8k):
    task = {**fx.task_config("gsm8k", tiny_gsm8k), "name": "math", "source": None}
    with pytest.raises(TaskDataError, match=r"the math task has no default source"):
        task_problems(task)


def test_filters_that_leave_nothing_are_an_error(tmp_path):
    path = tmp_path / "math.jsonl"
    fx.write_math(path, n=4)  # levels 1..4
    with pytest.raises(TaskDataError, match=r"math.jsonl gives no math problems \(after the task's filters\)"):
        load("math", path, math={"levels": [5]})


def test_pool_too_small_for_the_splits(data):
    task = fx.task_config("quality", data / "quality.jsonl", heldout_size=30, preference_size=30)
    message = r"the quality pool has 60 problems, too few for task.heldout_size=30 plus task.preference_size=30 and"
    with pytest.raises(ValueError, match=message + r" a non-empty train split; make the two sum to at most 59"):
        make_splits(task, seed=0)


# Bad task configs ---------------------------------------------------------------------------------------------------


def full_config(task: dict, **rest) -> dict:
    sizes = {"heldout_size": 5, "preference_size": 10, "prompts_per_iteration": 5}
    return {"iterations": 1, "task": {**sizes, **task}, **rest}


def test_custom_choices_need_a_reference_column(data):
    task = {
        "name": "custom",
        "source": str(data / "custom.jsonl"),
        "custom": {"prompt": "query_text", "choices": "opts"},
    }
    with pytest.raises(ConfigError, match=r"'task.custom.reference': with task.custom.choices, name the field"):
        validate_config(full_config(task), fx.SCHEMA)
    with pytest.raises(ConfigError, match=r"'task.custom.prompt': name the field"):
        validate_config(full_config({**task, "custom": {}}), fx.SCHEMA)


def test_checking_stages_on_a_task_without_evaluator_are_config_errors(data):
    task = {"name": "alpaca", "source": str(data / "alpaca_data.json")}
    judged = {"judging": {"judges": ["peer", "verifier"], "signal": "peer", "peer_mode": "likelihood"}}
    members = {"models": {m: {"base": "embedded"} for m in ("ada", "bix", "cyr")}}
    no_target = {"embedded": {"sft": {"target_accuracy": None}}}
    with pytest.raises(ConfigError) as err:
        validate_config(full_config(task, **judged, **members, **no_target), fx.SCHEMA)
    message = str(err.value)
    assert "'task.evaluator': judging.judges: verifier checks answers, but the alpaca task has no evaluator" in message
    assert "target_accuracy" not in message
    with pytest.raises(ConfigError, match=r"'models.ada.target_accuracy': 0.5 is a validation accuracy to stop SFT at"):
        validate_config(full_config(task, models={"ada": {"base": "embedded", "target_accuracy": 0.5}}), fx.SCHEMA)
    # an evaluator named in the config lifts both
    config = validate_config(full_config({**task, "evaluator": "normalized"}), fx.SCHEMA)
    assert evaluator_name(config["task"]) == "normalized"


def test_debate_on_math_is_a_config_error(data):
    task = {"name": "math", "source": str(data / "math.jsonl")}
    with pytest.raises(ConfigError, match=r"'task.name': debate argues the reference .* 'math' has neither"):
        validate_config(full_config(task, protocol="debate"), fx.SCHEMA)
    debate = validate_config(
        full_config({"name": "quality", "source": str(data / "quality.jsonl")}, protocol="debate"), fx.SCHEMA
    )
    assert debate["task"]["name"] == "quality"
