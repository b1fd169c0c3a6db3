"""Files: atomic writes (a killed job leaves either the previous file or the new one, never half of one), JSON
reading that names the file, and telling a local path from a Hub id."""

import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umasked(mode: int) -> int:
    """``mode`` less the process's umask: the permissions a plain open() or mkdir() would give."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def _clear_stale(path: Path) -> None:
    """Remove the temporaries of an earlier write of ``path`` that was killed before it could clean up (SIGKILL
    runs no ``finally``). Snakemake runs one job per output at a time, so no live write owns them."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); others on a shared cluster should read results as they would
        # any file the user writes.
        os.chmod(tmp, _umasked(0o666))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; move it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, _umasked(0o777))  # mkdtemp's 0700, as for atomic_file
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_json(obj: object, path: str | Path) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> dict:
    """The JSON object in ``path``; a file that is missing, not UTF-8 or not a JSON object is an error naming it."""
    path = Path(path)
    try:
        value = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: JSON file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable JSON file ({err})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: holds a JSON {type(value).__name__}, not an object")
    return value


def looks_like_path(name: str) -> bool:
    """Whether ``name`` is meant as a local path rather than a Hub id ("name" or "org/name"): absolute, starting
    with ./ ../ or ~, holding a backslash or more than one "/". A missing one is then "not found", never a download."""
    return name.startswith(("/", "./", "../", "~")) or "\\" in name or name.count("/") > 1 or name in (".", "..")
