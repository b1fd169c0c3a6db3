"""Wall time of a finished run by stage and iteration, from the `benchmark:` records Snakemake wrote.

Usage: python benchmarks/stage_times.py results/default
Each job's seconds include starting Python and importing its libraries, as a real run pays them.
Sums are CPU-side job seconds; with 2 concurrent jobs the run's wall time is roughly half their total.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd


def stage_seconds(run_dir: Path) -> pd.DataFrame:
    totals: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for tsv in sorted((run_dir / "benchmarks").rglob("*.tsv")):
        parts = tsv.relative_to(run_dir / "benchmarks").parts
        stage = parts[0].removesuffix(".tsv")
        match = re.search(r"iter_(\d+)", str(tsv))
        iteration = f"iter_{match.group(1)}" if match else "bootstrap"
        key = (stage, iteration)
        totals[key] += float(pd.read_csv(tsv, sep="\t")["s"].iloc[0])
        counts[key] += 1
    rows = [
        {"stage": s, "iteration": i, "jobs": counts[(s, i)], "seconds": round(t, 1)} for (s, i), t in totals.items()
    ]
    table = pd.DataFrame(rows)
    return table.pivot_table(index="stage", columns="iteration", values="seconds", aggfunc="sum", fill_value=0.0)


if __name__ == "__main__":
    table = stage_seconds(Path(sys.argv[1]))
    table.loc["total"] = table.sum()
    print(table.to_markdown(floatfmt=".1f"))
