"""Selfplay designs on the embedded default (config/selfplay.yaml), over seeds, with no verifier in training.

Each arm changes one thing of the default; the arms of a seed share that seed's bootstrap. The verifier only
measures (chosen-answer correctness in pairs/stats.json), except in the `verifier` control arm.

Usage: python benchmarks/selfplay_arms.py --seeds 0 1 2 [--arms default agree ...] [--workdir DIR]
Runs Snakemake for real (results/sp_s<seed>_<arm>) and prints one markdown row per run and iteration: mean and
per-member held-out greedy / sampled accuracy, pairs, chosen-answer correctness, the mean win rate against the
previous policy, and the run's wall seconds; then the change of mean greedy accuracy per arm over the seeds.
"""

import argparse
import statistics
from pathlib import Path

import yaml
from arms import REPO, accuracy_row, cell, read_json, run_arm

ARMS = {
    "default": {},
    "agree": {"selfplay": {"verdict_margin": 0.99}},
    "agree_dpo": {"selfplay": {"verdict_margin": 0.99}, "training": {"loss_type": ["sigmoid", "sft"]}},
    "verifier": {"judging": {"judges": ["verifier"], "signal": "verifier"}},
}
CONFIG = REPO / "config" / "selfplay.yaml"


def summarise(out: Path, iterations: int) -> list[dict]:
    """One row per iteration of a finished run."""
    rows = []
    for i in range(iterations + 1):
        row = {"iteration": i, **accuracy_row(out, i)}
        if i < iterations:
            stats = read_json(out / f"iter_{i}" / "pairs" / "stats.json")
            row.update(pairs=stats["pairs"], chosen_correct=stats.get("chosen_correct"))
        if 0 < i < iterations:
            models = read_json(out / f"iter_{i}" / "ratings" / "selfplay.json")["models"].values()
            versus = [m["win_rate_vs_previous"] for m in models if m["win_rate_vs_previous"] is not None]
            row["versus_previous"] = statistics.mean(versus) if versus else None
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--workdir", type=Path, default=REPO)
    args = parser.parse_args()
    iterations = yaml.safe_load(CONFIG.read_text())["iterations"]
    print(
        "| seed | arm | iter | mean greedy / sampled | members greedy | members sampled | pairs | chosen correct "
        "| win rate vs previous | run seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    gains: dict[str, list[float]] = {arm: [] for arm in args.arms}
    for seed in args.seeds:
        runs = [f"sp_s{seed}_{a}" for a in ARMS]
        for arm in args.arms:
            run = f"sp_s{seed}_{arm}"
            seconds = run_arm(CONFIG, run, seed, ARMS[arm], args.workdir, runs)
            rows = summarise(args.workdir / "results" / run, iterations)
            gains[arm].append(rows[-1]["greedy"] - rows[0]["greedy"])
            for r in rows:
                print(
                    f"| {seed} | {arm} | {r['iteration']} | {r['greedy']:.1f} / {r['sampled']:.1f} | {r['members']} | "
                    f"{r['members_sampled']} | {r.get('pairs', '')} | {cell(r.get('chosen_correct'), 3)} | "
                    f"{cell(r.get('versus_previous'), 3)} | {round(seconds)} |",
                    flush=True,
                )
    print("\n| arm | change of mean greedy per seed | mean | sd |\n| --- | --- | --- | --- |")
    for arm, values in gains.items():
        sd = statistics.stdev(values) if len(values) > 1 else None
        print(f"| {arm} | {' '.join(f'{v:+.1f}' for v in values)} | {statistics.mean(values):+.1f} | {cell(sd)} |")


if __name__ == "__main__":
    main()
