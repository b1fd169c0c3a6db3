"""The training command the train rule runs: by itself, and through accelerate's launcher with two CPU processes."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from agon.contracts import PAIRS, write_table
from agon.launch import training_launcher
from agon.models import ModelSpec
from agon.training import TrainConfig, main, train_adapter

from .testing_utils import MICRO, TINY_TRAINING, pairs_frame, snakemake

TINY = TrainConfig(**TINY_TRAINING)


def test_up_to_one_gpu_the_command_is_the_interpreter_itself():
    assert training_launcher(0, "/opt/my env/bin/python") == "'/opt/my env/bin/python'"
    assert training_launcher(1) == "python"


def test_several_gpus_launch_one_process_each_through_accelerate():
    words = shlex.split(training_launcher(4, "python"))
    assert words[:4] == ["python", "-m", "accelerate.commands.launch", "--multi_gpu"]
    assert "--num_processes=4" in words and "--main_process_port=0" in words


def test_each_process_takes_an_equal_share_of_the_pairs_per_step():
    assert TrainConfig(batch_size=16).per_device_batch_size(1) == 16
    assert TrainConfig(batch_size=16).per_device_batch_size(4) == 4
    with pytest.raises(ValueError, match=r"batch_size=16 .* 3 processes"):
        TrainConfig(batch_size=16).per_device_batch_size(3)


@pytest.mark.parametrize(
    ("model", "training", "message"),
    [('{"name": "m"}', "{}", "needs ['base']"), ('{"name": "m", "base": "b"}', '{"batchsize": 4}', "['batchsize']")],
)
def test_command_line_names_what_is_missing_or_unknown(model, training, message, capsys):
    with pytest.raises(SystemExit):
        main(["--pairs", "p.parquet", "--out", "a", "--model", model, "--training", training])
    assert message in capsys.readouterr().err


def test_train_rule_launches_one_process_per_gpu_through_accelerate(tmp_path):
    result = snakemake(
        "--dry-run",
        "--printshellcmds",
        "--configfile",
        MICRO,
        "--config",
        "gpus_per_job=2",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if "-m agon.training" in line]
    assert commands and all("accelerate.commands.launch --multi_gpu --num_processes=2" in c for c in commands)


def _run(root: Path, out: str, member: Path, gpus: int) -> dict:
    """The train rule's command, run by hand; it returns the adapter's training metrics."""
    command = (
        f"{training_launcher(gpus, sys.executable)} -m agon.training --pairs {root / 'pairs.parquet'} "
        f"--out {root / out} --model {shlex.quote(json.dumps({'name': 'm', 'base': str(member)}))} "
        f"--training {shlex.quote(json.dumps(TINY_TRAINING))} --device cpu --seed 3 --threads {gpus or 1}"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((root / out / "train_metrics.json").read_text())


@pytest.fixture(scope="module")
def pairs_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("launch")
    write_table(pairs_frame(8), root / "pairs.parquet", PAIRS)
    return root


@pytest.fixture(scope="module")
def one_process(pairs_root, tiny_member) -> dict:
    return _run(pairs_root, "one", tiny_member, gpus=0)


@pytest.mark.slow
def test_command_in_one_process_writes_the_adapter_train_adapter_writes(pairs_root, one_process, tiny_member):
    spec = ModelSpec(name="m", base=str(tiny_member))
    train_adapter(pairs_root / "pairs.parquet", pairs_root / "direct", spec, TINY, device="cpu", seed=3)
    by_command = load_file(pairs_root / "one" / "adapter_model.safetensors")
    direct = load_file(pairs_root / "direct" / "adapter_model.safetensors")
    assert by_command.keys() == direct.keys()
    assert all(torch.equal(by_command[k], direct[k]) for k in direct)
    assert one_process["processes"] == 1 and one_process["per_device_batch_size"] == 4


@pytest.mark.slow
def test_two_cpu_processes_split_every_step_and_see_every_pair(pairs_root, one_process, tiny_member):
    two = _run(pairs_root, "two", tiny_member, gpus=2)
    # 8 pairs at 4 per step: 2 steps, each process taking 2 of a step's 4 pairs, as one process takes 4
    assert (two["processes"], two["per_device_batch_size"], two["steps"]) == (2, 2, 2)
    assert one_process["steps"] == 2
    # TRL gathers the token count over the processes: both together saw every token one process sees
    tokens = [row["num_tokens"] for row in two["log"] if "num_tokens" in row]
    assert tokens[-1] == [row["num_tokens"] for row in one_process["log"] if "num_tokens" in row][-1]
    assert tokens[0] < tokens[-1]  # the first step saw only its 4 pairs' tokens
    base = AutoModelForCausalLM.from_pretrained(tiny_member)
    adapted = PeftModel.from_pretrained(base, pairs_root / "two")
    lora_b = [p for name, p in adapted.named_parameters() if "lora_B" in name]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # B starts at zero: non-zero means it learned
    assert not [p for p in pairs_root.iterdir() if p.name.startswith(".")]  # no process left a temporary behind
