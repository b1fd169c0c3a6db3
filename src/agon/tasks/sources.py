"""Reading a task's raw records: a local json/jsonl/parquet/csv file (or a folder of them), or a Hub dataset.

Loading goes through ``datasets``. Its JSON reader reports a malformed line as an Arrow parse error without the
file or line, so local JSON is first checked here with the standard parser, which names both; this reads the
file once more, a small cost next to any model job, and it happens before any of them starts.
"""

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

from agon.files import looks_like_path

if TYPE_CHECKING:
    import datasets

LOCAL_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}


class TaskDataError(ValueError):
    """A task's data source that cannot be read, or whose records do not have the fields its task needs."""


class RecordError(TaskDataError):
    """One raw record that cannot become a problem: its number in the source (0-based, in load order), a nested
    item of it (``part``, e.g. ", question 2"), and what is wrong. ``agon.tasks.task_problems`` names its file and
    line (``record_place``)."""

    def __init__(self, index: int, detail: str, part: str = "") -> None:
        super().__init__(f"record {index + 1}{part}: {detail}")
        self.index, self.part, self.detail = index, part, detail


def local_files(source: Path) -> list[Path]:
    """The data files of a local source: the file itself, or every json/jsonl/parquet/csv file under a folder."""
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.suffix in LOCAL_FORMATS and p.is_file())
        if not files:
            raise TaskDataError(f"task.source: folder {source} holds no .json, .jsonl, .parquet or .csv file")
        formats = {LOCAL_FORMATS[p.suffix] for p in files}
        if len(formats) > 1:
            raise TaskDataError(f"task.source: folder {source} mixes {sorted(formats)} files; keep one format")
        return files
    if source.suffix not in LOCAL_FORMATS:
        raise TaskDataError(f"task.source: {source} is not a .json, .jsonl, .parquet or .csv file")
    return [source]


def check_json(path: Path) -> None:
    """Raise TaskDataError naming the file and line of the first malformed JSON (or JSON Lines) record."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise TaskDataError(f"task.source: {path} is not UTF-8 text ({err.reason} at byte {err.start})") from err
    if not text.strip():
        raise TaskDataError(f"task.source: {path} is empty")
    if path.suffix == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            # JSON Lines named .json (as datasets' to_json writes them), which datasets reads: checked by line below
            if err.msg != "Extra data" or not _object_line(text):
                raise TaskDataError(f"task.source: {path} line {err.lineno}: not valid JSON ({err.msg})") from err
        else:
            if not isinstance(document, list | dict):
                raise TaskDataError(f"task.source: {path} holds a JSON {type(document).__name__}, not records")
            return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise TaskDataError(
                f"task.source: {path} line {number}: not a JSON record ({err.msg}, column {err.colno})"
            ) from err
        if not isinstance(record, dict):
            raise TaskDataError(f"task.source: {path} line {number}: a JSON {type(record).__name__}, not an object")


def _object_line(text: str) -> bool:
    """Whether the first non-blank line of ``text`` is a whole JSON object by itself (a JSON Lines file)."""
    first = next(line for line in text.splitlines() if line.strip())
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def load_records(source: str, *, subset: str | None, split: str, revision: str | None) -> "datasets.Dataset":
    """The raw records of ``source``: a local path when one exists or it looks like one (``is_local``), else a Hub
    id."""
    import datasets  # 2 s to import; the config check imports this module on every workflow start

    path = Path(source).expanduser()
    datasets.disable_progress_bars()
    if path.exists() or is_local(source):
        if not path.exists():
            raise TaskDataError(
                f"task.source: {path} not found; give an existing .json, .jsonl, .parquet or .csv file, or a folder "
                "of them"
            )
        files = local_files(path)
        builder = LOCAL_FORMATS[files[0].suffix]
        if builder == "json":
            for file in files:
                check_json(file)
        try:
            return datasets.load_dataset(builder, data_files=[str(f) for f in files], split="train")
        except (datasets.exceptions.DatasetGenerationError, ValueError, OSError) as err:
            raise TaskDataError(f"task.source: {path} could not be read as {builder} ({_cause(err)})") from err
    try:
        return datasets.load_dataset(source, subset, split=split, revision=revision)
    except Exception as err:  # datasets raises many types (offline, missing, gated); all mean "cannot load"
        raise TaskDataError(
            f"task.source: {source!r} is neither a local file nor a loadable Hub dataset"
            f" (subset={subset!r}, split={split!r}): {_cause(err)}"
        ) from err


def is_local(source: str) -> bool:
    """Whether ``source`` is meant as a local file or folder: it looks like a path (``agon.files.looks_like_path``)
    or ends like a data file. Such a source is never taken for a Hub dataset id."""
    return looks_like_path(source) or Path(source).suffix in LOCAL_FORMATS


def record_place(source: str, index: int) -> str:
    """Where record ``index`` (0-based, in the order records load) of ``source`` is, for messages: "record 8 (line
    9) of data.csv", numbered from 1 within its file, as an editor counts; "record 8 of org/name" on the Hub.
    Reads the files again: called only when a record is refused."""
    path = Path(source).expanduser()
    if not path.exists():
        return f"record {index + 1} of {source}"
    number = index  # within the file it falls in
    for file in local_files(path):
        lines = _record_lines(file)
        if number < len(lines):
            line = lines[number]
            return f"record {number + 1}{'' if line is None else f' (line {line})'} of {file}"
        number -= len(lines)
    return f"record {index + 1} of {source}"


def _record_lines(file: Path) -> list[int | None]:
    """The line each record of ``file`` starts on, None in formats without lines (parquet, a JSON document)."""
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [None] * pq.ParquetFile(file).metadata.num_rows
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix == ".csv":
        # As pandas reads it: a header, then one record per row (a quoted cell may span lines); blank lines skipped.
        reader = csv.reader(text.splitlines(keepends=True))
        starts, previous = [], 0
        for row in reader:
            if row:
                starts.append(previous + 1)
            previous = reader.line_num
        return starts[1:]
    if file.suffix == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            pass  # JSON Lines named .json
        else:
            return [None] * len(document) if isinstance(document, list) else [None]  # an object: one record
    return [number for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def _cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return f"{type(err).__name__}: {err}"
