"""Reading a task's raw records: a local json/jsonl/parquet/csv file (or a folder of them), or a Hub dataset.

Loading goes through ``datasets``. Its JSON reader reports a malformed line as an Arrow parse error without the
file or line, so local JSON is first checked here with the standard parser, which names both; this reads the
file once more, a small cost next to any model job, and it happens before any of them starts.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datasets

LOCAL_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}


class TaskDataError(ValueError):
    """A task's data source that cannot be read, or whose records do not have the fields its task needs."""


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
        text = path.read_text(encoding="utf-8")
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
    """The raw records of ``source``: a local path when one exists (or it ends like a data file), else a Hub id."""
    import datasets  # 2 s to import; the config check imports this module on every workflow start

    path = Path(source).expanduser()
    datasets.disable_progress_bars()
    if path.exists() or path.suffix in LOCAL_FORMATS:
        if not path.exists():
            raise TaskDataError(f"task.source: {path} not found")
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


def _cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return f"{type(err).__name__}: {err}"
