import re

import pandas as pd
import pytest

from agon.contracts import (
    GENERATIONS,
    PROMPTS,
    ContractError,
    Document,
    read_document,
    read_table,
    write_document,
    write_table,
)


def _prompts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prompt_id": ["p1", "p2"],
            "prompt": ["What is 1+1?", "What is 2+2?"],
            "reference": ["2", "4"],
            "split": ["heldout", "heldout"],
        }
    )


def test_round_trip_keeps_contract_columns_first_and_extra_columns(tmp_path):
    frame = _prompts().assign(note=["a", "b"])[["note", "prompt", "prompt_id", "reference", "split"]]
    write_table(frame, tmp_path / "p.parquet", PROMPTS)
    back = read_table(tmp_path / "p.parquet", PROMPTS)
    assert list(back.columns) == [*PROMPTS.columns, "note"]
    assert back["prompt_id"].tolist() == ["p1", "p2"]


def test_missing_column_names_the_file_and_the_column(tmp_path):
    path = tmp_path / "bad.parquet"
    _prompts().drop(columns="reference").to_parquet(path)
    with pytest.raises(ContractError, match=r"bad.parquet: prompts table lacks column\(s\) \['reference'\]"):
        read_table(path, PROMPTS)


def test_wrong_type_names_the_column_and_both_types(tmp_path):
    path = tmp_path / "gen.parquet"
    frame = pd.DataFrame({c: ["x"] for c in GENERATIONS.columns})
    frame.to_parquet(path)
    with pytest.raises(
        ContractError,
        match=r"gen.parquet: column 'sample' of the generations table has type (large_)?string, expected int64",
    ):
        read_table(path, GENERATIONS)


def test_writing_a_frame_that_breaks_the_contract_fails_and_leaves_no_file(tmp_path):
    with pytest.raises(ContractError, match=r"lacks column"):
        write_table(_prompts().drop(columns="split"), tmp_path / "p.parquet", PROMPTS)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_and_missing_files_are_named(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(ContractError, match=r"junk.parquet: not a readable parquet file"):
        read_table(junk, PROMPTS)
    with pytest.raises(ContractError, match=r"nope.parquet: prompts table not found"):
        read_table(tmp_path / "nope.parquet", PROMPTS)


COUNTS = Document("counts", {"pairs": (int,), "mean": (float, None), "done": (bool,)})


def test_a_document_round_trips_and_a_whole_float_reads_as_a_float(tmp_path):
    write_document({"pairs": 3, "mean": 0.0, "done": True, "note": "kept"}, tmp_path / "c.json", COUNTS)
    (tmp_path / "d.json").write_text('{"pairs": 3, "mean": 1, "done": false}')
    assert read_document(tmp_path / "c.json", COUNTS) == {"pairs": 3, "mean": 0.0, "done": True, "note": "kept"}
    assert read_document(tmp_path / "d.json", COUNTS)["mean"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"pairs": 3, "done": true}', "counts document lacks key(s) ['mean']"),
        ('{"pairs": true, "mean": null, "done": true}', "key 'pairs' of the counts document is bool, expected int"),
        ('{"pairs": 3, "mean": "x", "done": true}', "key 'mean' of the counts document is str, expected float or null"),
    ],
)
def test_a_document_missing_a_key_or_of_a_wrong_type_is_named_with_its_file(tmp_path, text, message):
    (tmp_path / "c.json").write_text(text)
    with pytest.raises(ContractError, match=re.escape(f"{tmp_path / 'c.json'}: ") + ".*" + re.escape(message)):
        read_document(tmp_path / "c.json", COUNTS)
