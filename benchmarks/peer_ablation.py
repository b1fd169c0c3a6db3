"""Ablation of the tribe loop's judge on the embedded default: who labels the pairs, several seeds.

Arms (all with the default population, task, matchmaking, DPO+NLL training, 3 iterations):
  verifier    the task's checker labels the pairs (a control: a verifier is what peer judging must replace);
  likelihood  peers judge by their own likelihood of each answer (the previous default);
  reference   peers answer greedily themselves and back the matching answer; a pair needs both judges
              outside the duel to agree (pairs.margin 0.99, pairs.min_judges 2).

Usage: python benchmarks/peer_ablation.py --seeds 0 1 2 [--arms verifier likelihood reference]
Runs Snakemake for real (one run per seed and arm, in results/abl_s<seed>_<arm>); the arms of a seed share
that seed's bootstrap (copied, not retrained). Prints a markdown table of the figures per run and iteration.
"""

import json
from pathlib import Path

import yaml
from arms import REPO, accuracy_row, arm_arguments, cell, run_arm

ARMS = {
    "verifier": {"judging": {"judges": ["verifier"], "signal": "verifier"}},
    "likelihood": {"judging": {"judges": ["peer", "verifier"], "signal": "peer", "peer_mode": "likelihood"}},
    "reference": {
        "judging": {"judges": ["peer", "verifier"], "signal": "peer", "peer_mode": "reference"},
        "pairs": {"margin": 0.99, "min_judges": 2},
    },
}
CONFIG = REPO / "config" / "config.yaml"


def summarise(workdir: Path, seed: int, arm: str, seconds: float, iterations: int) -> list[dict]:
    out = workdir / "results" / f"abl_s{seed}_{arm}"
    rows = []
    for i in range(iterations + 1):
        row = {"seed": seed, "arm": arm, "iteration": i, "seconds": round(seconds), **accuracy_row(out, i)}
        if i < iterations:
            stats = json.loads((out / f"iter_{i}" / "pairs" / "stats.json").read_text())
            row.update(
                pairs=stats["pairs"],
                chosen_correct=stats.get("chosen_correct"),
                abstain=1 - stats["pairs"] / stats["candidates"],
            )
            agreement = out / f"iter_{i}" / "judgments" / "agreement.json"
            if agreement.exists():
                row["agreement"] = json.loads(agreement.read_text())["peer"]["agreement_one_correct"]
        rows.append(row)
    return rows


def main() -> None:
    args = arm_arguments(__doc__, list(ARMS))
    iterations = yaml.safe_load(CONFIG.read_text())["iterations"]
    print(
        "| seed | arm | iter | mean greedy | mean sampled | members greedy | pairs | chosen correct | abstain "
        "| peer-verifier agreement | run seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for seed in args.seeds:
        for arm in args.arms:
            runs = [f"abl_s{seed}_{a}" for a in ARMS]
            seconds = run_arm(CONFIG, f"abl_s{seed}_{arm}", seed, ARMS[arm], args.workdir, runs)
            for r in summarise(args.workdir, seed, arm, seconds, iterations):
                print(
                    f"| {seed} | {arm} | {r['iteration']} | {r['greedy']:.1f} | {r['sampled']:.1f} | "
                    f"{r['members']} | {r.get('pairs', '')} | {cell(r.get('chosen_correct'), 3)} | "
                    f"{cell(r.get('abstain'), 3)} | {cell(r.get('agreement'), 3)} | {r['seconds']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
