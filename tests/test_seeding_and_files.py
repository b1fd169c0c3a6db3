import os
import stat
import zlib

import pytest

from agon.files import atomic_directory, atomic_file, read_json, write_json
from agon.seeding import derive_seed


def test_seed_is_crc32_of_the_job_key():
    assert derive_seed(0, "generate", 1, "ada", 0) == zlib.crc32(b"0/generate/1/ada/0") & 0x7FFFFFFF


def test_seeds_differ_by_job_and_by_run_seed():
    seeds = {derive_seed(s, "generate", i, m) for s in (0, 1) for i in (0, 1) for m in ("ada", "bix")}
    assert len(seeds) == 8


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "x.json"
    write_json({"v": 1}, path)
    with pytest.raises(RuntimeError), atomic_file(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert read_json(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_failed_directory_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "model") as tmp:
        (tmp / "weights").write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_writes_get_the_permissions_of_a_plain_write(tmp_path):
    # tempfile makes private files; results on a shared cluster must be as readable as any file the user writes
    old = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
        with atomic_directory(tmp_path / "d") as tmp:
            (tmp / "inner.txt").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_a_write_clears_the_temporaries_of_an_earlier_killed_write(tmp_path):
    # SIGKILL runs no cleanup: the killed job's temporary stays beside the output until the job runs again
    (tmp_path / ".out.json.abc123.tmp").write_text("half")
    (tmp_path / ".model.xyz.tmp").mkdir()
    (tmp_path / ".other.json.abc.tmp").write_text("another output's")
    write_json({"a": 1}, tmp_path / "out.json")
    with atomic_directory(tmp_path / "model") as tmp:
        (tmp / "w").write_text("w")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.abc.tmp", "model", "out.json"]
