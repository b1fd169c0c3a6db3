"""Real Snakemake runs of the workflow: lint, dry-runs, and an end-to-end micro run in a temporary directory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agon.contracts import GENERATIONS, PROMPTS, read_table

from .conftest import REPO

MICRO = REPO / "tests" / "config" / "micro.yaml"


def snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
        *args,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_lint_is_clean():
    result = snakemake("--lint", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_default_config_dry_run_plans_the_population_and_iteration_zero(tmp_path):
    result = snakemake("--dry-run", "--configfile", str(REPO / "config" / "config.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = result.stdout
    for rule, count in [("embedded_member", 4), ("generate_shard", 4), ("evaluate", 4), ("tokenizer", 1)]:
        assert any(line.split() == [rule, str(count)] for line in plan.splitlines()), (rule, plan)
    assert not (tmp_path / "results").exists()


def test_bad_config_stops_before_any_job_and_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("generation:\n  top_p: 2.0\n")
    result = snakemake("--configfile", str(bad), cwd=tmp_path)
    assert result.returncode != 0
    assert "config key 'generation.top_p': 2.0 is greater than the maximum of 1" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_micro_run_builds_the_population_generates_and_evaluates(tmp_path):
    result = snakemake("--configfile", str(MICRO), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-5000:]
    out = tmp_path / "results" / "micro"
    splits = {s: read_table(out / "data" / f"{s}.parquet", PROMPTS) for s in ("train", "preference", "heldout")}
    assert len(splits["heldout"]) == 20 and len(splits["preference"]) == 40
    prompts = read_table(out / "iter_0" / "prompts.parquet", PROMPTS)
    assert len(prompts) == 10
    for model in ("ada", "bix"):
        assert (out / "models" / model / "model.safetensors").exists()
        gen = read_table(out / "iter_0" / "generations" / f"{model}.parquet", GENERATIONS)
        assert len(gen) == 10 * 2  # prompts x samples_per_prompt, gathered from two shards
        assert set(gen["prompt_id"]) == set(prompts["prompt_id"])
        assert set(gen["model"]) == {model}
        metrics = json.loads((out / "iter_0" / "eval" / f"{model}.json").read_text())
        assert metrics["iteration"] == 0 and metrics["heldout_prompts"] == 20
        assert {"greedy_accuracy", "sampled_accuracy"} <= set(metrics)
        assert (out / "logs" / "evaluate" / "iter_0" / f"{model}.log").exists()
    # shard files are temporary: gathered, then removed
    assert not any((out / "iter_0" / "generations" / "shards").rglob("*.parquet"))
    # the members differ: independent seeds and data
    ada = (out / "models" / "ada" / "model.safetensors").read_bytes()
    assert ada != (out / "models" / "bix" / "model.safetensors").read_bytes()

    again = snakemake("--configfile", str(MICRO), cwd=tmp_path)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr
