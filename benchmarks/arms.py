"""What the ablation benchmarks share: run one arm of a config for real, and read the figures of its iterations.

An arm is the base config with some keys replaced. The arms of one seed share that seed's bootstrap: the first
arm trains it, the others copy it, so they differ only in what the arm changes.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED = ("data", "bootstrap", "models")


def merged(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` merged in, section by section (a section's other keys stay)."""
    out = dict(base)
    for key, value in overrides.items():
        out[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return out


def arm_arguments(description: str, arms: list[str]) -> argparse.Namespace:
    """The command line every ablation benchmark takes: which seeds, which arms, where the runs go."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=arms, choices=arms)
    parser.add_argument("--workdir", type=Path, default=REPO)
    return parser.parse_args()


def run_arm(
    base_config: Path,
    run: str,
    seed: int,
    overrides: dict,
    workdir: Path,
    siblings: list[str],
    snakemake_args: tuple[str, ...] = (),
) -> float:
    """Run Snakemake on ``base_config`` plus ``overrides`` as ``results/<run>`` with ``seed``, and
    ``snakemake_args``; its wall seconds.

    The bootstrap is copied from the first of ``siblings`` (runs of the same seed) that has one.
    """
    config = merged(yaml.safe_load(base_config.read_text()), {**overrides, "run": run, "seed": seed})
    out = workdir / "results" / run
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    donor = next((workdir / "results" / s for s in siblings if (workdir / "results" / s / "models").exists()), None)
    if donor is not None and not (out / "models").exists():
        for part in SHARED:
            shutil.copytree(donor / part, out / part)
    start = time.perf_counter()
    with (out / "snakemake.log").open("w") as log:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(REPO / "Snakefile"),
                "--cores",
                "2",
                "--configfile",
                str(path),
                "--rerun-incomplete",
                *snakemake_args,
            ],
            cwd=workdir,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return time.perf_counter() - start


def read_json(path: Path) -> dict:
    """A run's JSON document."""
    return json.loads(path.read_text())


def accuracy_row(out: Path, iteration: int) -> dict:
    """Mean and per-member held-out greedy and sampled accuracy (percent) of one iteration's evaluations."""
    evals = {p.stem: read_json(p) for p in sorted((out / f"iter_{iteration}" / "eval").glob("*.json"))}
    n = len(evals)
    return {
        "greedy": 100 * sum(e["greedy_accuracy"] for e in evals.values()) / n,
        "sampled": 100 * sum(e["sampled_accuracy"] for e in evals.values()) / n,
        "member_greedy": [100 * e["greedy_accuracy"] for e in evals.values()],
        "members": " ".join(f"{100 * e['greedy_accuracy']:.1f}" for e in evals.values()),
        "members_sampled": " ".join(f"{100 * e['sampled_accuracy']:.1f}" for e in evals.values()),
    }


def cell(value: float | None, digits: int = 1) -> str:
    """A table cell: the value rounded, or empty."""
    return "" if value is None else f"{value:.{digits}f}"
