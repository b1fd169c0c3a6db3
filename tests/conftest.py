import os
from pathlib import Path

import pytest

# Tests never reach a model hub; one thread per process is fastest on small CPUs.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
# One iteration of the micro config: every stage in about a minute (tests/test_resume.py, tests/test_cli.py).
NANO = REPO / "tests" / "config" / "nano.yaml"
MICRO_TASK = {
    "name": "arithmetic",
    "heldout_size": 20,
    "preference_size": 40,
    "prompts_per_iteration": 10,
    "arithmetic": {"max_a": 19, "max_b": 9, "operations": ["+", "-"]},
}


@pytest.fixture(scope="session")
def micro_splits(tmp_path_factory) -> dict[str, Path]:
    from agon.tasks import write_splits

    root = tmp_path_factory.mktemp("data")
    paths = {split: str(root / f"{split}.parquet") for split in ("train", "preference", "heldout")}
    write_splits(MICRO_TASK, 0, paths)
    return {k: Path(v) for k, v in paths.items()}


@pytest.fixture(scope="session")
def tiny_member(tmp_path_factory, micro_splits) -> Path:
    """A tiny embedded member trained for a few steps: a real model directory for generation tests."""
    import torch

    from agon.bootstrap.model import TinyModelConfig
    from agon.bootstrap.sft import MemberSFTConfig
    from agon.bootstrap.standalone import build_standalone_member

    torch.set_num_threads(1)
    return build_standalone_member(
        micro_splits["train"],
        tmp_path_factory.mktemp("member"),
        TinyModelConfig(hidden_size=32, intermediate_size=64, layers=2, heads=2, max_positions=32),
        MemberSFTConfig(steps=20, batch_size=32, learning_rate=5.0e-3, warmup_steps=2, target_accuracy=None),
        vocab_size=96,
        seed=1,
    )


@pytest.fixture(scope="session")
def nano_run(tmp_path_factory) -> Path:
    """The nano config run to the end with real Snakemake, once per session: its results folder."""
    from .resume_harness import run

    root = tmp_path_factory.mktemp("nano")
    run(NANO, root)
    return root / "results" / "nano"
