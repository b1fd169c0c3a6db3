"""How judge weights decide duels, on finished runs' own judgments: the rule before 2026-12-02 against today's.

Usage: python benchmarks/judge_weights.py RUN [RUN ...] [--scheme sparta] [--tie-band 0.1]

For each iteration from 1 on, the run's signal judgments (the peers' where they judged, else the verifier's) are
folded into duel verdicts three ways, each from the scheme's ratings document of the previous iteration:
  equal      every judge weighs 1;
  before     each judge weighs its rating, floored at 0 (the rule before 2026-12-02: it moves with the scheme's
             base and unit, and any gap decides a split);
  now        each judge weighs its expected score (agon.ratings.expected_scores), a split within the tie band a
             tie (agon.ratings.duel_verdicts).
Prints per iteration the rated duels, the splits (judges on both sides), and how many duels tied under equal
weights each rule turned into a win or a loss. Reads files only; loads no model.
"""

import argparse
from pathlib import Path

import numpy as np

from agon.contracts import JUDGMENTS, MATCHES, read_table, read_tables
from agon.files import read_json
from agon.ratings import duel_verdicts, expected_scores, ratings_of


def signal_judgments(iteration: Path) -> list[Path]:
    method = "peer" if (iteration / "judgments" / "peer").is_dir() else "verifier"
    return sorted((iteration / "judgments" / method).glob("*.parquet"))


def decided_from_ties(equal: np.ndarray, weighted: np.ndarray) -> int:
    """Duels tied under equal weights that the weighted verdict decides."""
    return int(((equal == 0) & (weighted != 0)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--scheme", default="sparta")
    parser.add_argument("--tie-band", type=float, default=0.1)
    args = parser.parse_args()
    print("| run | iteration | rated duels | splits | ties decided: before | ties decided: now |")
    print("| --- | --- | --- | --- | --- | --- |")
    for run in args.runs:
        iterations = sorted(run.glob("iter_*/matches.parquet"), key=lambda p: int(p.parent.name.split("_")[1]))
        for matches_path in iterations[1:]:
            iteration = matches_path.parent
            i = int(iteration.name.split("_")[1])
            previous = read_json(run / f"iter_{i - 1}" / "ratings" / f"{args.scheme}.json")
            matches = read_table(matches_path, MATCHES)
            judgments = read_tables(signal_judgments(iteration), JUDGMENTS)
            before = {name: max(rating, 0.0) for name, rating in ratings_of(previous).items()}
            equal, old, new = (
                np.sign(duel_verdicts(matches, judgments, weights, band)["d"].to_numpy(dtype=float))
                for weights, band in (({}, 0.0), (before, 0.0), (expected_scores(previous), args.tie_band))
            )
            valid = judgments[judgments["valid"].eq(True)]
            sides = valid.groupby("match_id")["preference"].agg(lambda p: (p > 0).any() and (p < 0).any())
            rated = ~np.isnan(equal)
            print(
                f"| {run.name} | {i} | {int(rated.sum())} | {int(sides.sum())} | "
                f"{decided_from_ties(equal[rated], old[rated])} | {decided_from_ties(equal[rated], new[rated])} |"
            )


if __name__ == "__main__":
    main()
