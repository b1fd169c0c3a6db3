"""Small datasets in each task's published record format, written on demand (tests never download).

Every writer takes the path to write (its suffix picks the file format where a release ships several) and
``n``, the number of records (QuALITY: articles, three questions each), and returns the raw records it wrote in
file order. Contents are derived from the record index, so records differ and every answer is right.
``task_config`` builds a full task config (every default filled) through the real config validation.
"""

import json
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from agon.config import load_schema, validate_config

from .testing_utils import SCHEMA_PATH

SCHEMA = load_schema(SCHEMA_PATH)

# task.custom for the file write_custom writes
CUSTOM_COLUMNS = {
    "prompt": "query_text",
    "reference": "gold",
    "choices": "opts",
    "background": "passage",
    "id": "uid",
    "metadata": ["domain", "difficulty"],
}


def task_config(name: str, source: str | Path | None = None, **task: object) -> dict:
    """The validated ``task`` section for ``name`` reading ``source``: small splits, every other key its default.

    The rest of the config avoids the stages that need an evaluator, so free-form tasks validate too.
    """
    section = {"name": name, "heldout_size": 5, "preference_size": 10, "prompts_per_iteration": 5, **task}
    if source is not None:
        section["source"] = str(source)
    config = {
        "iterations": 1,
        "models": {"ada": {"base": "embedded"}, "bix": {"base": "embedded"}, "cyr": {"base": "embedded"}},
        "embedded": {"sft": {"target_accuracy": None}},
        "judging": {"judges": ["peer"], "signal": "peer", "peer_mode": "likelihood"},
        "pairs": {"min_judges": 1},
        "task": section,
    }
    return validate_config(config, SCHEMA)["task"]


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _write_json(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def _write_frame(path: Path, records: list[dict]) -> None:
    """A table file by suffix: .parquet, .csv or JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(records), path)
    elif path.suffix == ".csv":
        pd.DataFrame(records).to_csv(path, index=False)
    else:
        write_jsonl(path, records)


# GSM8K -----------------------------------------------------------------------------------------------------------


def gsm8k_record(i: int) -> dict:
    """A two-step word problem; every fourth one's total passes 1,000 and is written with a comma, as some are."""
    boxes, per_box, eaten = 3 + i % 7, 12 + i, i % 5
    if i % 4 == 3:
        per_box *= 40
    total = boxes * per_box
    left = total - eaten
    final = f"{left:,}" if i % 4 == 3 else str(left)
    question = f"Sam has {boxes} boxes of {per_box} pencils. He gives away {eaten} pencils. How many pencils are left?"
    answer = (
        f"Sam has {boxes} * {per_box} = <<{boxes}*{per_box}={total}>>{total} pencils.\n"
        f"After giving away {eaten}, {total} - {eaten} = <<{total}-{eaten}={left}>>{left} are left.\n"
        f"#### {final}"
    )
    return {"question": question, "answer": answer}


def write_gsm8k(path: str | Path, n: int = 60) -> list[dict]:
    """openai/gsm8k "main": JSON Lines as released on GitHub, or .parquet as on the Hub."""
    records = [gsm8k_record(i) for i in range(n)]
    _write_frame(Path(path), records)
    return records


# MATH ------------------------------------------------------------------------------------------------------------

MATH_TYPES = ["Algebra", "Prealgebra", "Number Theory", "Counting & Probability", "Geometry"]
MATH_FOLDERS = {
    "Algebra": "algebra",
    "Prealgebra": "prealgebra",
    "Number Theory": "number_theory",
    "Counting & Probability": "counting_and_probability",
    "Geometry": "geometry",
}


def math_answer(i: int) -> Fraction:
    return Fraction(i + 1, 2 + i % 3) + Fraction(1, 2 + i % 4)


def _latex(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"\\frac{{{value.numerator}}}{{{value.denominator}}}"


def math_record(i: int) -> dict:
    """A sum of two fractions; level 1..5 by index, the answer in the solution's last \\boxed{}.

    Every third solution boxes an intermediate value first, so only the last box is the answer.
    """
    a, b = Fraction(i + 1, 2 + i % 3), Fraction(1, 2 + i % 4)
    kind = MATH_TYPES[i % len(MATH_TYPES)]
    problem = f"Compute $\\frac{{{i + 1}}}{{{2 + i % 3}}} + \\frac{{1}}{{{2 + i % 4}}}$ for puzzle {i}."
    first = f"The first term is $\\boxed{{{_latex(a)}}}$ in lowest terms. " if i % 3 == 0 else ""
    solution = (
        f"{first}Over a common denominator, ${_latex(a)} + {_latex(b)} = {_latex(a + b)}$, "
        f"so the sum is $\\boxed{{{_latex(math_answer(i))}}}$."
    )
    return {"problem": problem, "level": f"Level {1 + i % 5}", "type": kind, "solution": solution}


def write_math_tree(root: str | Path, n: int = 60, split: str = "train") -> list[dict]:
    """The original MATH release: ``root/<split>/<type folder>/<number>.json``, one indented record per file.

    A local folder source reads its files in sorted path order (``algebra/10.json`` before ``algebra/5.json``);
    the records come back in that order.
    """
    written = {}
    for i in range(n):
        record = math_record(i)
        path = Path(root) / split / MATH_FOLDERS[record["type"]] / f"{i}.json"
        _write_json(path, record)
        written[str(path.relative_to(root))] = record
    return [written[key] for key in sorted(written)]


def write_math(path: str | Path, n: int = 60) -> list[dict]:
    """MATH as JSON Lines (or .parquet), the layout of the Hub mirrors."""
    records = [math_record(i) for i in range(n)]
    _write_frame(Path(path), records)
    return records


# Alpaca ----------------------------------------------------------------------------------------------------------

ALPACA_VERBS = ["Summarize", "Translate to French", "Give a title for", "Rewrite formally"]


def alpaca_record(i: int) -> dict:
    """Every third record has an empty input, as many Alpaca instructions do."""
    if i % 3 == 0:
        return {
            "instruction": f"List {2 + i % 4} tips for keeping plant number {i} healthy.",
            "input": "",
            "output": f"Water plant {i} weekly and give it light.",
        }
    verb = ALPACA_VERBS[i % len(ALPACA_VERBS)]
    return {
        "instruction": f"{verb} the following sentence.",
        "input": f"The train number {i} left the station at {i % 12 + 1} o'clock.",
        "output": f"Train {i} departed at {i % 12 + 1}.",
    }


def write_alpaca(path: str | Path, n: int = 60) -> list[dict]:
    """tatsu-lab/alpaca's alpaca_data.json: one indented JSON array of records."""
    records = [alpaca_record(i) for i in range(n)]
    _write_json(Path(path), records)
    return records


# TruthfulQA ------------------------------------------------------------------------------------------------------

TRUTHFULQA_CATEGORIES = ["Misconceptions", "Health", "Law", "Fiction"]


def truthfulqa_texts(i: int) -> tuple[str, str, list[str]]:
    """(question, the true answer, 2..4 false answers)."""
    wrong = [f"It makes you {w} {i}." for w in ("taller by", "fly after", "glow for", "sneeze on")]
    return f"What happens if you swallow gum number {i}?", f"Gum {i} passes through you.", wrong[: 2 + i % 3]


def truthfulqa_mc_record(i: int) -> dict:
    """Config "multiple_choice": mc1_targets (one true answer, listed first) and mc2_targets."""
    question, best, wrong = truthfulqa_texts(i)
    mc1 = {"choices": [best, *wrong], "labels": [1] + [0] * len(wrong)}
    mc2 = {"choices": [best, f"Nothing much happens to gum {i}.", *wrong], "labels": [1, 1] + [0] * len(wrong)}
    return {"question": question, "mc1_targets": mc1, "mc2_targets": mc2}


def truthfulqa_generation_record(i: int) -> dict:
    question, best, wrong = truthfulqa_texts(i)
    return {
        "type": "Adversarial" if i % 2 else "Non-Adversarial",
        "category": TRUTHFULQA_CATEGORIES[i % len(TRUTHFULQA_CATEGORIES)],
        "question": question,
        "best_answer": best,
        "correct_answers": [best, f"Nothing much happens to gum {i}."],
        "incorrect_answers": wrong,
        "source": f"https://example.org/gum/{i}",
    }


def write_truthfulqa(path: str | Path, n: int = 60, layout: str = "multiple_choice") -> list[dict]:
    """truthfulqa/truthful_qa as the Hub's parquet: ``layout`` "multiple_choice" (struct columns of
    list<string> choices and list<int32> labels) or "generation"."""
    if layout == "multiple_choice":
        records = [truthfulqa_mc_record(i) for i in range(n)]
        targets = pa.struct([("choices", pa.list_(pa.string())), ("labels", pa.list_(pa.int32()))])
        schema = pa.schema([("question", pa.string()), ("mc1_targets", targets), ("mc2_targets", targets)])
    else:
        records = [truthfulqa_generation_record(i) for i in range(n)]
        strings = pa.list_(pa.string())
        schema = pa.schema(
            [
                ("type", pa.string()),
                ("category", pa.string()),
                ("question", pa.string()),
                ("best_answer", pa.string()),
                ("correct_answers", strings),
                ("incorrect_answers", strings),
                ("source", pa.string()),
            ]
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(records, schema=schema), path)
    else:
        write_jsonl(path, records)
    return records


# Culture (NormAd-ETI) --------------------------------------------------------------------------------------------

NORMAD_COUNTRIES = ["japan", "egypt", "brazil", "india", "sweden"]
NORMAD_GOLD = ["yes", "no", "neither"]


def normad_record(i: int) -> dict:
    country = NORMAD_COUNTRIES[i % len(NORMAD_COUNTRIES)]
    gold = NORMAD_GOLD[i % 3]
    act = {"yes": "took off her shoes", "no": "kept his shoes on", "neither": "asked about the shoes"}[gold]
    return {
        "ID": i,
        "Country": country,
        "Background": f"In {country}, homes are kept clean; guest {i} should respect the host.",
        "Axis": "Etiquette",
        "Subaxis": "Visiting homes",
        "Value": f"Respect for the host's home ({i}).",
        "Rule-of-Thumb": f"Remove shoes when entering home {i}.",
        "Story": f"At a friend's house in {country}, guest {i} {act}, then sat down.",
        "Explanation": f"Guest {i} {act}; that fits the norm: {gold}.",
        "Gold Label": gold,
    }


def write_normad(path: str | Path, n: int = 60) -> list[dict]:
    """akhilayerukola/NormAd: .csv (as released) or .parquet, gold labels yes / no / neither in turn."""
    records = [normad_record(i) for i in range(n)]
    _write_frame(Path(path), records)
    return records


# Knowledge crosswords --------------------------------------------------------------------------------------------


def crossword_record(i: int) -> dict:
    """Three blanks (every fifth record two) linked by constraint triples, 3 candidates per blank, the knowledge
    triples under K keys that differ between records as in the release."""
    people, cities = [f"Ann{i}", f"Bo{i}", f"Cy{i}"], [f"Oslo{i}", f"Lima{i}", f"Kyiv{i}"]
    teams = [f"Hawks{i}", f"Owls{i}", f"Bees{i}"]
    right = [people[i % 3], cities[(i + 1) % 3], teams[(i + 2) % 3]]
    blanks = ["blank 1", "blank 2", "blank 3"]
    source, relation = ["blank 1", "blank 1", "blank 3"], ["born in", "plays for", "based in"]
    target = ["blank 2", "blank 3", f"Region{i}"]
    options = {"blank 1": people, "blank 2": cities, "blank 3": teams}
    knowledge = {
        f"k{i % 4}": [[right[0], "born in", right[1]], [right[0], "plays for", right[2]]],
        f"k{i % 4 + 1}": [[right[2], "based in", f"Region{i}"]],
    }
    if i % 5 == 4:
        blanks, right = blanks[:2], right[:2]
        source, relation, target = source[:1], relation[:1], target[:1]
        options = {"blank 1": people, "blank 2": cities}
        knowledge = {f"k{i % 4}": [[right[0], "born in", right[1]]]}
    return {
        "blanks": blanks,
        "source": source,
        "relation": relation,
        "target": target,
        "options": options,
        "answer_all": right,
        "K": knowledge,
    }


def write_knowledge_crosswords(path: str | Path, n: int = 60) -> list[dict]:
    """Knowledge crosswords (Ding et al.) JSON Lines."""
    records = [crossword_record(i) for i in range(n)]
    write_jsonl(Path(path), records)
    return records


# COM2-style multiple choice --------------------------------------------------------------------------------------


def com2_record(i: int, answer: str = "letter", options_key: str = "choices") -> dict:
    """A cause-and-effect question with four options; ``answer`` as a "letter", an "index" or the option's "text"."""
    options = [f"The road {i} froze.", f"The sun {i} rose.", f"A bird {i} sang.", f"The tea {i} cooled."]
    correct = (i * 3) % 4
    options[0], options[correct] = options[correct], options[0]
    given = {"letter": "ABCD"[correct], "index": correct, "text": options[correct]}[answer]
    return {
        "id": f"com2-q{i}",
        "question": f"It snowed all night on road {i}. What most likely happened next?",
        options_key: options,
        "answer": given,
    }


def write_com2(path: str | Path, n: int = 60, answer: str = "letter", options_key: str = "choices") -> list[dict]:
    """COM2-style records: a JSON array for .json, else JSON Lines."""
    records = [com2_record(i, answer, options_key) for i in range(n)]
    path = Path(path)
    if path.suffix == ".json":
        _write_json(path, records)
    else:
        write_jsonl(path, records)
    return records


# QuALITY ---------------------------------------------------------------------------------------------------------


def quality_record(i: int) -> dict:
    """One article with three questions (the second marked difficult, the third every other article); article 0
    has a fourth question without gold_label, like the test release."""
    article = f"Mara ran moon base {i}. Supplies came every {i % 6 + 2} days. Then the radio failed; she fixed it."
    questions = []
    for q in range(3):
        gold = (i + q) % 4 + 1
        options = [f"Not this ({i}.{q}.{k})." for k in range(4)]
        options[gold - 1] = [f"She ran base {i}.", f"Every {i % 6 + 2} days.", "The radio."][q]
        questions.append(
            {
                "question": ["Who ran the base?", "How often came supplies?", "What failed?"][q] + f" ({i}.{q})",
                "options": options,
                "gold_label": gold,
                "writer_label": gold,
                "question_unique_id": f"{20000 + i}_Q{q}",
                "difficult": int(q == 1 or (q == 2 and i % 2 == 1)),
            }
        )
    if i == 0:
        questions.append(
            {
                "question": "What did Mara eat?",
                "options": ["Bread", "Rice", "Soup", "Fish"],
                "question_unique_id": "20000_Q3",
                "difficult": 0,
            }
        )
    return {
        "article_id": str(20000 + i),
        "set_unique_id": f"{20000 + i}_S",
        "title": f"Base {i}",
        "article": article,
        "questions": questions,
    }


def write_quality(path: str | Path, n: int = 20) -> list[dict]:
    """QuALITY JSON Lines (QuALITY.v1.0.1.htmlstripped.*): one article per line, ``n`` articles."""
    records = [quality_record(i) for i in range(n)]
    write_jsonl(Path(path), records)
    return records


# Custom ----------------------------------------------------------------------------------------------------------


def custom_record(i: int) -> dict:
    """The user's own layout (CUSTOM_COLUMNS maps it): the right option given by its text."""
    opts = [f"{i + 1} meters", f"{i + 2} meters", f"{i + 3} meters"]
    return {
        "uid": f"user-{i:03d}",
        "query_text": f"How far did runner {i} go?",
        "gold": opts[i % 3],
        "opts": opts,
        "passage": f"Runner {i} jogged {opts[i % 3]} before resting.",
        "domain": ["sport", "travel"][i % 2],
        "difficulty": i % 3,
    }


def write_custom(path: str | Path, n: int = 60) -> list[dict]:
    records = [custom_record(i) for i in range(n)]
    _write_frame(Path(path), records)
    return records
