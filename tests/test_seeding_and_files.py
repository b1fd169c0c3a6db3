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
