"""Bradley-Terry intervals by bootstrap and by the sandwich estimator, on a finished run's own judgments.

Usage: python benchmarks/bt_intervals.py RUN [--rounds 200] [--repeats 5]

For each iteration of RUN, the signal judgments (the peers' where they judged, else the verifier's), judges
weighed equally, are rated by Bradley-Terry with the default parameters twice: ``intervals: bootstrap``
(``--rounds`` refits) and ``intervals: sandwich`` (one Hessian). Prints per model the rating and both 95%
intervals with the ratio of their widths, then the seconds of each fit as the median of ``--repeats`` runs in
this process, and their ratio. Reads files only; loads no model.
"""

import argparse
import time
from pathlib import Path
from statistics import median

from judge_weights import signal_judgments  # benchmarks/ is the script's own folder, first on sys.path

from agon.contracts import JUDGMENTS, MATCHES, read_table, read_tables
from agon.ratings import BradleyTerryConfig, duel_verdicts, fit_bradley_terry


def timed(repeats: int, fit, *args) -> tuple[dict, float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        document = fit(*args)
        seconds.append(time.perf_counter() - started)
    return document, median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    models = sorted(p.stem for p in (args.run / "iter_0" / "eval").glob("*.json"))
    rows, times = [], []
    for matches_path in sorted(args.run.glob("iter_*/matches.parquet")):
        iteration = matches_path.parent
        verdicts = duel_verdicts(
            read_table(matches_path, MATCHES), read_tables(signal_judgments(iteration), JUDGMENTS), {}
        )
        documents = {}
        for method in ("bootstrap", "sandwich"):
            cfg = BradleyTerryConfig(intervals=method, bootstrap_rounds=args.rounds)
            documents[method], seconds = timed(args.repeats, fit_bradley_terry, verdicts, None, models, cfg)
            times.append((iteration.name, method, seconds))
        for model in models:
            boot, sand = (documents[m]["models"][model] for m in ("bootstrap", "sandwich"))
            ratio = (sand["ci_high"] - sand["ci_low"]) / (boot["ci_high"] - boot["ci_low"])
            rows.append(
                f"| {iteration.name} | {model} | {boot['rating']:.1f} | {boot['ci_low']:.1f} - {boot['ci_high']:.1f} "
                f"| {sand['ci_low']:.1f} - {sand['ci_high']:.1f} | {ratio:.2f} |"
            )
    print("| iteration | model | rating | bootstrap 95% | sandwich 95% | width ratio (sandwich / bootstrap) |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print("\n| iteration | bootstrap s | sandwich s | ratio |\n| --- | --- | --- | --- |")
    by = {(name, method): seconds for name, method, seconds in times}
    for name in dict.fromkeys(name for name, _, _ in times):
        boot, sand = by[(name, "bootstrap")], by[(name, "sandwich")]
        print(f"| {name} | {boot:.4f} | {sand:.4f} | {boot / sand:.1f}x |")


if __name__ == "__main__":
    main()
