"""Fixtures shared by the test modules, and the hooks that order and skip tests; helpers live in
tests/testing_utils.py."""

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from .testing_utils import (
    MICRO,
    MICRO_DEBATE,
    MICRO_SELFPLAY,
    MICRO_TASK,
    NANO,
    Once,
    build_population,
    build_standalone_member,
    finished_run,
    stop_snakemake,
)

# Tests never reach a model hub; one thread per process is fastest on small CPUs.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu"):
        import torch

        if not torch.cuda.is_available():
            pytest.skip("needs a CUDA device")


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
def population_once(tmp_path_factory) -> Once[Path]:
    return Once(lambda: build_population(tmp_path_factory.mktemp("population")))


@pytest.fixture(scope="session")
def population(population_once) -> Path:
    """The embedded population of the micro configs (task splits, tokenizer, members), built by real Snakemake once
    per session: its results folder. Each micro run copies it and starts from built members
    (testing_utils.run_from_population)."""
    return population_once()


# The session's micro runs, by the fixture that hands each out: one real run per protocol.
MICRO_RUNS = {"micro_run": MICRO, "selfplay_run": MICRO_SELFPLAY, "debate_run": MICRO_DEBATE}


@pytest.fixture(scope="session", autouse=True)
def micro_runs(request, tmp_path_factory, population_once) -> Iterator[dict[str, tuple[Path, Future[Path]]]]:
    """The micro runs the selected tests use, started as the session starts, one after another in a background
    thread, so they run on the core the other tests leave idle: fixture name -> (its root, its results folder to
    come). A session that ends first stops them."""
    wanted = [name for name in MICRO_RUNS if any(name in item.fixturenames for item in request.session.items)]
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="micro-runs")
    runs = {}
    for name in wanted:
        root = tmp_path_factory.mktemp(MICRO_RUNS[name].stem)
        runs[name] = (root, pool.submit(finished_run, MICRO_RUNS[name], root, population_once))
    yield runs
    pool.shutdown(wait=False, cancel_futures=True)
    stop_snakemake()
    pool.shutdown()


@pytest.fixture(scope="session")
def micro_run(micro_runs) -> tuple[Path, Path]:
    """tests/config/micro.yaml run end to end from the population, or kept from an earlier session
    (testing_utils.finished_run): (its root, its results folder)."""
    root, results = micro_runs["micro_run"]
    return root, results.result()


@pytest.fixture(scope="session")
def selfplay_run(micro_runs) -> tuple[Path, Path]:
    """tests/config/micro_selfplay.yaml run end to end, as micro_run."""
    root, results = micro_runs["selfplay_run"]
    return root, results.result()


@pytest.fixture(scope="session")
def debate_run(micro_runs) -> tuple[Path, Path]:
    """tests/config/micro_debate.yaml run end to end, as micro_run."""
    root, results = micro_runs["debate_run"]
    return root, results.result()


@pytest.fixture(scope="session")
def nano_run(tmp_path_factory, population_once) -> Path:
    """The nano config run to the end with real Snakemake from the population, once per session, or kept by an
    earlier one or another test process (testing_utils.finished_run): its results folder."""
    return finished_run(NANO, tmp_path_factory.mktemp("nano"), population_once)
