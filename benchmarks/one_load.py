"""One model load per member and iteration (generation.one_load), before and after, on one config.

Usage: python benchmarks/one_load.py [--config config/config.yaml] [--seed 0] [--workdir DIR]

Builds the config's bootstrap once (DIR/bootstrap/results/load, Snakemake --until embedded_member), then runs the
config with generation.one_load false (a load per stage: generate, judge, evaluate) and true (the infer job), each
from a copy of that bootstrap in its own folder (DIR/<arm>/results/load: the same run name, so that the paths the
files record are the same), and prints a markdown table per arm:

- inference model loads per member and iteration (0..N-1) and for the last evaluation, counted from the jobs' logs
  (agon.models' "loading model ... for inference" lines and vLLM engine starts), not from the plan;
- job-seconds of the inference stages (generate or infer, judge, evaluate) and of every job after the bootstrap,
  from Snakemake's benchmark records, and the Snakemake run's wall seconds;
- whether every file of the run equals the other arm's byte for byte: all but logs, benchmark records, the infer
  job's own files, and the train metrics' timing fields (train_runtime, the rates derived from it, seconds).
"""

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
import yaml
from arms import REPO, SHARED, run_arm

from agon.plan import ITERATION_DIR

ARMS = {"three_loads": False, "one_load": True}
RUN = "load"
INFERENCE = ("generate", "infer", "judge", "evaluate")
LOAD_LINES = ("loading model ", "vLLM engine for ")
TIMING = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "seconds"}
NOT_COMPARED = ("logs", "benchmarks", "inference", "config.yaml", "snakemake.log")


def loads(out: Path, iterations: int) -> tuple[list[int], int]:
    """Inference model loads logged per iteration 0..N-1, and in the last evaluation (iteration N)."""
    counts = [0] * (iterations + 1)
    for log in (out / "logs").rglob("*.log"):
        found = ITERATION_DIR.search(str(log.relative_to(out)))
        if found is None or log.relative_to(out / "logs").parts[0] not in (*INFERENCE, "selfplay_previous_policy"):
            continue
        counts[int(found[1])] += sum(line in text for text in log.read_text().splitlines() for line in LOAD_LINES)
    return counts[:-1], counts[-1]


def job_seconds(out: Path) -> dict[str, float]:
    """Benchmark seconds summed by the rule folder of each record."""
    seconds: dict[str, float] = {}
    for record in (out / "benchmarks").rglob("*.tsv"):
        folder = record.relative_to(out / "benchmarks").parts[0].removesuffix(".tsv")
        seconds[folder] = seconds.get(folder, 0.0) + float(pd.read_csv(record, sep="\t")["s"].sum())
    return seconds


def comparable(path: Path) -> bytes:
    """A file's bytes, a train metrics file without its timing fields."""
    if path.name != "train_metrics.json":
        return path.read_bytes()

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TIMING}
        return [strip(v) for v in value] if isinstance(value, list) else value

    return json.dumps(strip(json.loads(path.read_text())), sort_keys=True).encode()


def differing(a: Path, b: Path) -> tuple[int, list[str]]:
    """How many files both runs hold and compare, and those that differ (or that only one holds)."""

    def files(root: Path) -> set[Path]:
        return {
            p.relative_to(root)
            for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).parts[0] not in NOT_COMPARED and "inference" not in p.parts
        }

    fa, fb = files(a), files(b)
    shown = sorted(str(p) for p in fa ^ fb)
    shown += sorted(str(p) for p in fa & fb if comparable(a / p) != comparable(b / p))
    return len(fa & fb), shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=REPO)
    args = parser.parse_args()
    iterations = yaml.safe_load(args.config.read_text())["iterations"]
    models = len(yaml.safe_load(args.config.read_text())["models"])
    bootstrap = args.workdir / "bootstrap"
    run_arm(args.config, RUN, args.seed, {}, bootstrap, [], ("--until", "embedded_member"))
    print("| arm | loads per member and iteration | last evaluation | inference job-s | all job-s | wall s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for arm, one_load in ARMS.items():
        out = args.workdir / arm / "results" / RUN
        for part in SHARED:
            if not (out / part).exists():
                shutil.copytree(bootstrap / "results" / RUN / part, out / part)
        wall = run_arm(args.config, RUN, args.seed, {"generation": {"one_load": one_load}}, args.workdir / arm, [])
        per_iteration, last = loads(out, iterations)
        seconds = job_seconds(out)
        inference = sum(seconds.get(folder, 0.0) for folder in INFERENCE)
        work = sum(s for folder, s in seconds.items() if folder not in ("task_splits", "tokenizer", "embedded_member"))
        shown = ", ".join(f"{n / models:g}" for n in per_iteration)
        print(f"| {arm} | {shown} | {last} | {inference:.1f} | {work:.1f} | {wall:.1f} |")
    compared, shown = differing(*(args.workdir / arm / "results" / RUN for arm in ARMS))
    print(f"\n{compared} files compared; {len(shown)} differ" + (": " + ", ".join(shown) if shown else ""))


if __name__ == "__main__":
    main()
