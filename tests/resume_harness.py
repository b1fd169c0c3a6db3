"""Kill a real Snakemake run at chosen moments and resume it: the harness behind tests/test_resume.py.

A run goes through `snakemake` in its own process group. The harness reads Snakemake's output as it comes,
and when a job of the stage it waits for starts, sleeps a random moment and SIGKILLs the whole group:
Snakemake and every job in flight, as a node failure or an out-of-memory kill would. It then unlocks the
directory and runs the same command again, which resumes. The outputs of jobs that had finished before a kill
must come out of the resumed run untouched, and the final outputs must equal those of an uninterrupted run.
"""

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# The rules whose jobs make up each stage of an iteration.
STAGES = {
    "bootstrap": {"task_splits", "tokenizer", "embedded_member"},
    "generate": {"generate_shard", "gather_generations"},
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


def command(config: Path, cores: int = 2) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--cores", str(cores),
            "--configfile", str(config), "--rerun-incomplete"]  # fmt: skip


def environment() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def run(config: Path, root: Path, cores: int = 2) -> None:
    """One uninterrupted run to the end."""
    done = subprocess.run(command(config, cores), cwd=root, env=environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"snakemake failed in {root}:\n{done.stderr[-4000:]}")


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
    process = subprocess.Popen(
        command(config), cwd=root, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
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
    subprocess.run([*command(config), "--unlock"], cwd=root, env=environment(), capture_output=True, check=True)


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
