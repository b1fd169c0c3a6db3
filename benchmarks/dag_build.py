"""Time Snakemake's DAG build (a dry run) for a large population, against the default config as baseline.

Usage: python benchmarks/dag_build.py [--repeats 3]
Both configs are dry-run in this process's environment, alternating, so the ratio is robust to machine load.
Snakemake's SLURM plugin asks `scontrol` for the cluster's config whenever Snakemake starts; on a machine with
the SLURM client but no reachable controller that waits 9 s, whatever the DAG. The dry runs therefore see the
tests' closed cluster (tests/slurm/no_cluster.conf), which answers at once, so the figures are the DAG's.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def large_config() -> dict:
    """16 models x 10 iterations x 8 shards: the scale the DAG must stay fast at."""
    return {
        "run": "dag16",
        "iterations": 10,
        "models": {f"m{k:02d}": {"base": "embedded"} for k in range(16)},
        "task": {"preference_size": 5000, "prompts_per_iteration": 500},
        "generation": {"shards": 8},
    }


def dry_run_seconds(configfile: Path, workdir: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--dry-run",
            "--quiet",
            "all",
            "--cores",
            "2",
            "--configfile",
            str(configfile),
        ],
        cwd=workdir,
        env={**os.environ, "SLURM_CONF": str(REPO / "tests" / "slurm" / "no_cluster.conf")},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - start
    jobs = next(int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("total"))
    return seconds, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        large = workdir / "large.yaml"
        large.write_text(yaml.safe_dump(large_config()))
        default = REPO / "config" / "config.yaml"
        times: dict[str, list[float]] = {"default": [], "large": []}
        jobs: dict[str, int] = {}
        for _ in range(args.repeats):
            for name, path in (("default", default), ("large", large)):
                seconds, jobs[name] = dry_run_seconds(path, workdir)
                times[name].append(seconds)
    base, big = statistics.median(times["default"]), statistics.median(times["large"])
    print(f"| config | jobs | dry-run seconds (median of {args.repeats}) | ratio to default |")
    print("| --- | --- | --- | --- |")
    print(f"| default (4 models x 3 iterations x 1 shard) | {jobs['default']} | {base:.2f} | 1.00 |")
    print(f"| 16 models x 10 iterations x 8 shards | {jobs['large']} | {big:.2f} | {big / base:.2f} |")


if __name__ == "__main__":
    main()
