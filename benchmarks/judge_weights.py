"""How judge weights decide duels, on finished runs' own judgments: the rule before 2026-12-02 against today's.

Usage: python benchmarks/judge_weights.py RUN [RUN ...] [--scheme sparta] [--tie-band 0.1]

Each run's signal judgments (the peers' where they judged, else the verifier's) are re-rated iteration by iteration
under ``--scheme`` with its default parameters, three ways, each weighing the judges from its own previous document:
  equal      every judge weighs 1;
  before     each judge weighs its rating, floored at 0 (the rule before 2026-12-02: it moves with the scheme's
             base and unit, and any gap decides a split);
  now        each judge weighs its expected score (agon.ratings.expected_scores), a split within the tie band a
             tie (agon.ratings.duel_verdicts).
Prints per iteration from 1 on the rated duels, the splits (judges on both sides), and how many duels tied under
equal weights each rule decided; then per rule the Spearman correlation of every iteration's ratings with that
iteration's held-out greedy accuracy (iter_<i>/eval). Reads files only; loads no model.
"""

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agon.contracts import JUDGMENTS, MATCHES, read_table, read_tables
from agon.files import write_json
from agon.ratings import duel_verdicts, expected_scores, fit_ratings, ratings_of
from agon.ratings.trajectory import health, trajectory


def before(document: dict) -> dict[str, float]:
    """The rule before 2026-12-02: a judge weighs its rating, floored at 0."""
    return {name: max(rating, 0.0) for name, rating in ratings_of(document).items()}


def signal_judgments(iteration: Path) -> list[Path]:
    method = "peer" if (iteration / "judgments" / "peer").is_dir() else "verifier"
    return sorted((iteration / "judgments" / method).glob("*.parquet"))


def rerated(run: Path, scheme: str, weigh: Callable[[dict], dict], band: float) -> tuple[list[np.ndarray], list]:
    """Under one rule: each iteration's verdict signs, and the Spearman of its ratings with greedy accuracy."""
    models = sorted(p.stem for p in (run / "iter_0" / "eval").glob("*.json"))
    iterations = sorted(run.glob("iter_*/matches.parquet"), key=lambda p: int(p.parent.name.split("_")[1]))
    signs, documents, previous = [], [], None
    with tempfile.TemporaryDirectory() as out:
        for k, matches_path in enumerate(iterations):
            judgments = read_tables(signal_judgments(matches_path.parent), JUDGMENTS)
            weights = {} if previous is None else weigh(previous)
            verdicts = duel_verdicts(read_table(matches_path, MATCHES), judgments, weights, band)
            signs.append(np.sign(verdicts["d"].to_numpy(dtype=float)))
            previous = fit_ratings(scheme, verdicts, previous, models, {}, seed=0)
            documents.append(Path(out) / f"{k}.json")
            write_json(previous, documents[-1])
        table = health(trajectory(documents, sorted(run.glob("iter_*/eval/*.json"))))
    return signs, table["spearman_greedy"].astype(float).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--scheme", default="sparta")
    parser.add_argument("--tie-band", type=float, default=0.1)
    args = parser.parse_args()
    rules = {"equal": (lambda _: {}, 0.0), "before": (before, 0.0), "now": (expected_scores, args.tie_band)}
    results = {run: {rule: rerated(run, args.scheme, *how) for rule, how in rules.items()} for run in args.runs}
    print(f"{args.scheme}\n\n| run | iteration | rated duels | ties decided: before | ties decided: now |")
    print("| --- | --- | --- | --- | --- |")
    for run, by_rule in results.items():
        equal = by_rule["equal"][0]
        for i in range(1, len(equal)):
            rated = ~np.isnan(equal[i])
            decided = {r: int(((equal[i] == 0) & (by_rule[r][0][i] != 0) & rated).sum()) for r in ("before", "now")}
            print(f"| {run.name} | {i} | {int(rated.sum())} | {decided['before']} | {decided['now']} |")
    print("\n| run | Spearman per iteration: before | now |\n| --- | --- | --- |")
    for run, by_rule in results.items():
        shown = {r: " / ".join("-" if np.isnan(v) else f"{v:.2f}" for v in by_rule[r][1]) for r in ("before", "now")}
        print(f"| {run.name} | {shown['before']} | {shown['now']} |")
    means = {r: np.nanmean([v for by_rule in results.values() for v in by_rule[r][1]]) for r in ("before", "now")}
    print(f"| mean | {means['before']:.2f} | {means['now']:.2f} |")


if __name__ == "__main__":
    main()
