"""Kill and resume, and determinism, on real Snakemake runs of tests/config/nano.yaml (docs/reliability.md); the
slow lane (`pytest -m slow`).

A run goes through `snakemake` in its own process group. The harness below reads Snakemake's output as it comes,
and when a job of the stage it waits for starts, sleeps a random moment and SIGKILLs the whole group: Snakemake and
every job in flight, as a node failure or an out-of-memory kill would. It then unlocks the directory and runs the
same command again, which resumes. The outputs of jobs that had finished before a kill must come out of the resumed
run untouched, and the final outputs must equal those of an uninterrupted run.

CI runs one kill chain (a kill in each of the 7 stages); `AGON_KILL_CHAINS=10 pytest -m slow tests/test_resume.py`
runs more, each with other moments.
"""

import json
import os
import random
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .testing_utils import NANO, copy_population, run_to_the_end, snakemake, start_snakemake

CHAINS = int(os.environ.get("AGON_KILL_CHAINS", "1"))

pytestmark = pytest.mark.slow

# The rules whose jobs make up each stage of an iteration.
STAGES = {
    "bootstrap": {"task_splits", "tokenizer", "embedded_member"},
    "generate": {"infer", "gather_generations"},
    "judge": {"judge_by_member", "judge_by_verifier", "gather_member_judgments"},
    "rate": {"rate", "compare_schemes"},
    "pairs": {"pairs"},
    "train": {"train"},
    "evaluate": {"evaluate"},
}
# Written anew by every job that runs: wall times, logs, Snakemake's own bookkeeping.
VOLATILE_DIRS = ("logs", "benchmarks")
# Fields that measure the machine, not the result; every other field must match exactly.
VOLATILE_FIELDS = {"seconds", "train_runtime", "train_samples_per_second", "train_steps_per_second"}

JOB_START = re.compile(r"^(?:local)?rule (\w+):$")
JOB_ID = re.compile(r"^\s+jobid: (\d+)$")
JOB_OUTPUT = re.compile(r"^\s+output: (.*)$")
JOB_DONE = re.compile(r"^Finished jobid: (\d+)")


@dataclass
class Kill:
    stage: str
    rule: str
    delay_s: float
    in_flight: list[str]  # the rules of the jobs the kill interrupted
    finished_outputs: dict[str, int] = field(default_factory=dict)  # path -> mtime_ns of finished jobs' outputs


def run(config: Path, root: Path, cores: int = 2) -> None:
    """One uninterrupted run to the end."""
    run_to_the_end(config, root, "--rerun-incomplete", cores=cores)


class _Progress:
    """Snakemake's jobs as its output reports them: which started (rule, outputs) and which finished."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.jobs: dict[str, tuple[str, list[str]]] = {}
        self.finished: set[str] = set()
        self.trigger: str | None = None
        self.started = threading.Event()  # a job of the stage has started
        self._rule: str | None = None
        self._outputs: list[str] = []

    def read(self, stream) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if match := JOB_START.match(line):
                self._rule, self._outputs = match.group(1), []
            elif (match := JOB_OUTPUT.match(line)) and self._rule:
                self._outputs = [path.strip() for path in match.group(1).split(",")]
            elif (match := JOB_ID.match(line)) and self._rule:
                self.jobs[match.group(1)] = (self._rule, self._outputs)
                if self._rule in STAGES[self.stage] and self.trigger is None:
                    self.trigger = self._rule
                    self.started.set()
                self._rule = None
            elif match := JOB_DONE.match(line):
                self.finished.add(match.group(1))


def run_until_killed(config: Path, root: Path, stage: str, delay_s: float) -> Kill | None:
    """Run until a job of ``stage`` starts, wait ``delay_s``, SIGKILL everything. None if the run ended first."""
    process = start_snakemake("--configfile", config, "--rerun-incomplete", cwd=root, merge_stderr=True, own_group=True)
    progress = _Progress(stage)
    # A reader thread keeps the pipe drained, so Snakemake never blocks on it while the harness waits.
    reader = threading.Thread(target=progress.read, args=(process.stdout,), daemon=True)
    reader.start()
    while not progress.started.wait(0.1):
        if process.poll() is not None:
            reader.join()
            if process.returncode != 0:
                raise AssertionError(f"snakemake failed in {root} before any {stage} job")
            if progress.trigger is None:
                return None
            break
    time.sleep(delay_s)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    reader.join()
    finished_outputs = {
        path: (root / path).stat().st_mtime_ns
        for jobid in progress.finished
        for path in progress.jobs[jobid][1]
        if (root / path).exists()
    }
    in_flight = sorted(rule for jobid, (rule, _) in progress.jobs.items() if jobid not in progress.finished)
    return Kill(stage, progress.trigger, delay_s, in_flight, finished_outputs)


def unlock(config: Path, root: Path) -> None:
    done = snakemake("--configfile", config, "--unlock", cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]


def killed_and_resumed(config: Path, root: Path, seed: int, max_delay_s: float = 4.0) -> list[Kill]:
    """One chain: kill once in every stage, in stage order, resuming after each; then run to the end."""
    rng = random.Random(seed)
    kills = []
    for stage in STAGES:
        kill = run_until_killed(config, root, stage, rng.uniform(0, max_delay_s))
        if kill is not None:
            kills.append(kill)
            unlock(config, root)
    run(config, root)
    return kills


def outputs(results: Path) -> dict[str, Path]:
    return {
        str(path.relative_to(results)): path
        for path in sorted(results.rglob("*"))
        if path.is_file() and path.relative_to(results).parts[0] not in VOLATILE_DIRS
    }


def _without_volatile(node: object) -> object:
    if isinstance(node, dict):
        return {k: _without_volatile(v) for k, v in node.items() if k not in VOLATILE_FIELDS}
    if isinstance(node, list):
        return [_without_volatile(item) for item in node]
    return node


def differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ between two results folders: byte for byte, except JSON files, which are compared
    without the fields that time the machine (VOLATILE_FIELDS)."""
    mine, theirs = outputs(expected), outputs(actual)
    found = [f"only in {expected}: {name}" for name in sorted(set(mine) - set(theirs))]
    found += [f"only in {actual}: {name}" for name in sorted(set(theirs) - set(mine))]
    for name in sorted(set(mine) & set(theirs)):
        a, b = mine[name].read_bytes(), theirs[name].read_bytes()
        if a == b:
            continue
        if name.endswith(".json") and _without_volatile(json.loads(a)) == _without_volatile(json.loads(b)):
            continue
        found.append(f"differs: {name}")
    return found


def redone(kills: list[Kill], root: Path) -> list[str]:
    """Outputs of jobs that had finished before a kill, yet were written again by the resumed runs."""
    found = []
    for kill in kills:
        for path, mtime in kill.finished_outputs.items():
            if (root / path).exists() and (root / path).stat().st_mtime_ns != mtime:
                found.append(f"{path} (finished before the kill in {kill.stage})")
    return found


def test_the_same_config_and_seed_give_the_same_outputs(nano_run, tmp_path):
    # nano_run ran on two cores from the session's population (built under the micro run's name); on one core,
    # from scratch, the jobs run in another order
    run(NANO, tmp_path, cores=1)
    assert differences(nano_run, tmp_path / "results" / "nano") == []


@pytest.mark.parametrize("chain", range(CHAINS))
def test_killed_in_every_stage_and_resumed_gives_the_outputs_of_an_uninterrupted_run(nano_run, tmp_path, chain):
    kills = killed_and_resumed(NANO, tmp_path, seed=chain)
    report = [(kill.stage, kill.rule, round(kill.delay_s, 2), kill.in_flight) for kill in kills]
    assert [kill.stage for kill in kills] == list(STAGES), report
    # a kill loses at most the jobs in flight: what had finished is never written again
    assert redone(kills, tmp_path) == [], report
    assert differences(nano_run, tmp_path / "results" / "nano") == [], report


def inference_loads(results: Path, iteration: int) -> int:
    """The members' checkpoints loaded for inference in ``iteration``, as the jobs' logs say (agon.models)."""
    logs = [
        log for stage in ("generate", "infer", "judge", "evaluate") for log in (results / "logs" / stage).rglob("*.log")
    ]
    return sum(
        line.count("loading model ")
        for log in logs
        if f"iter_{iteration}" in log.parts
        for line in log.read_text().splitlines()
    )


def reference_run(population: Path, root: Path, one_load: bool) -> Path:
    """nano.yaml with its peers judging by reference, run from the population with generation.one_load as given, up
    to what the infer job serves: iteration 0's peer judgments and evaluations. Its results folder."""
    config = yaml.safe_load(NANO.read_text())
    config["judging"]["peer_mode"] = "reference"
    config["generation"]["one_load"] = one_load
    root.mkdir(parents=True)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    copy_population(population, path, root)
    results = Path("results") / config["run"]
    targets = [str(results / "iter_0" / kind.format(m)) for m in config["models"] for kind in SERVED]
    done = snakemake(*targets, "--configfile", path, cwd=root)
    assert done.returncode == 0, f"snakemake failed in {root}:\n{done.stderr[-5000:]}"
    return root / results


# What an iteration asks of the infer job's answers, per member: its judgments as a reference peer, its evaluation.
SERVED = ("judgments/peer/{}.parquet", "eval/{}.json")


def test_one_load_gives_the_outputs_of_a_load_per_stage(population, tmp_path):
    # Peers judging by reference, so that the infer job also answers as each member's reference judge: one load
    # per member and iteration (the default) against a load per stage (generate, judge, evaluate). The files must
    # be the same, the infer job's own aside, both runs under the same run name.
    one = reference_run(population, tmp_path / "one_load", one_load=True)
    three = reference_run(population, tmp_path / "three_loads", one_load=False)
    members = len(yaml.safe_load(NANO.read_text())["models"])
    assert (inference_loads(one, 0), inference_loads(three, 0)) == (members, 3 * members)
    inference = sorted(str(p.relative_to(one)) for p in one.glob("iter_0/inference/**/*") if p.is_file())
    assert len(inference) == members * 4  # settings, greedy and sampled held-out answers, references of 1 shard
    assert differences(one, three) == [f"only in {one}: {name}" for name in inference]
    assert len(list(one.glob("iter_0/judgments/peer/*.parquet"))) == members
