"""Write the calibration `agon estimate` times runs with, from a finished run: its benchmark records, the work of each
job, the model jobs' start and Snakemake's own seconds per job fitted to the run's measured wall time.

Usage: python benchmarks/estimate_calibration.py RUN_DIR CONFIG --wall SECONDS --jobs N --source TEXT
       > src/agon/cli/calibration.tsv

RUN_DIR is a finished run of CONFIG, made with N jobs at once (profiles/local: 2) and timed from the start of
`snakemake` to its end (SECONDS). The file also says how much of each job's wall time was CPU time: well under 100%
means the machine ran other work beside the run, which stretches its jobs (docs/cli.md).
"""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from agon.cli.machine import machine
from agon.cli.main import SCHEMA
from agon.cli.timing import calibration_text, fit_per_job, read_run
from agon.config import load_config


def cpu_share(run_dir: Path, jobs: list[str]) -> float:
    """CPU time over wall time of the jobs' benchmark records, summed."""
    frames = [pd.read_csv(run_dir / "benchmarks" / f"{job}.tsv", sep="\t") for job in jobs]
    return sum(f["cpu_time"].sum() for f in frames) / sum(f["s"].sum() for f in frames)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a finished run, results/<run>")
    parser.add_argument("config_file", metavar="CONFIG", help="the run's config")
    parser.add_argument("--wall", type=float, required=True, help="the run's wall seconds, as measured")
    parser.add_argument("--jobs", type=int, required=True, help="the jobs it ran at once")
    parser.add_argument("--source", required=True, help="the run in words, printed with every estimate")
    args = parser.parse_args()
    config = load_config(args.config_file, SCHEMA)
    records = replace(read_run(args.run_dir, config, per_job=0.0), source=args.source)
    calibration = replace(records, per_job=fit_per_job(config, records, args.jobs, args.wall))
    share = cpu_share(args.run_dir, [r.job for r in records.records])
    about = [
        f"python benchmarks/estimate_calibration.py {args.run_dir} {args.config_file} --wall {args.wall:g} "
        f"--jobs {args.jobs}",
        f"measured on {machine()}; the jobs' CPU time was {share:.0%} of their wall time",
    ]
    sys.stdout.write(calibration_text(calibration, about))
    return 0


if __name__ == "__main__":
    sys.exit(main())
