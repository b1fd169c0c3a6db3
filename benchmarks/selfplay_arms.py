"""Selfplay designs on the embedded default (config/selfplay.yaml), over seeds, with no verifier in training.

Each arm is the default with some keys changed (ARMS); the arms of a seed share that seed's bootstrap. The
verifier only measures (chosen-answer correctness in pairs/stats.json): no arm trains on it.

Usage: python benchmarks/selfplay_arms.py --seeds 0 1 2 [--arms default agree ...] [--workdir DIR]
Runs Snakemake for real (results/sp_s<seed>_<arm>) and prints one markdown row per run and iteration: mean and
per-member held-out greedy / sampled accuracy, pairs, chosen-answer correctness, the mean win rate against the
previous policy, and the run's wall seconds; then the change of mean greedy accuracy per arm over the seeds.
"""

import itertools
import statistics
from pathlib import Path

import yaml
from arms import REPO, accuracy_row, arm_arguments, cell, read_json, run_arm

SPPO = {"loss_type": ["sppo", "sft"]}
ARMS = {
    # The default before this benchmark: SPPO + NLL on every pair the win rates pick, 200 prompts an iteration.
    "sppo": {"selfplay": {"verdict_margin": None}, "training": SPPO, "task": {"prompts_per_iteration": 200}},
    # A pair needs both other members to back its chosen answer over its rejected one.
    "agree": {"training": SPPO, "task": {"prompts_per_iteration": 200}},
    # ... and DPO + NLL instead of SPPO's loss.
    "agree_dpo": {"task": {"prompts_per_iteration": 200}},
    # ... with K = 8 answers per prompt.
    "agree_dpo_k8": {"task": {"prompts_per_iteration": 200}, "generation": {"samples_per_prompt": 8}},
    # DPO + NLL on 500 prompts an iteration, without the agreement.
    "dpo_p500": {"selfplay": {"verdict_margin": None}},
    # config/selfplay.yaml: agreement, DPO + NLL, 500 prompts an iteration.
    "default": {},
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
    args = arm_arguments(__doc__, list(ARMS))
    iterations = yaml.safe_load(CONFIG.read_text())["iterations"]
    print(
        "| seed | arm | iter | mean greedy / sampled | members greedy | members sampled | pairs | chosen correct "
        "| win rate vs previous | run seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    gains: dict[str, list[float]] = {arm: [] for arm in args.arms}
    drops: dict[str, list[float]] = {arm: [] for arm in args.arms}
    for seed in args.seeds:
        runs = [f"sp_s{seed}_{a}" for a in ARMS]
        for arm in args.arms:
            run = f"sp_s{seed}_{arm}"
            seconds = run_arm(CONFIG, run, seed, ARMS[arm], args.workdir, runs)
            rows = summarise(args.workdir / "results" / run, iterations)
            gains[arm].append(rows[-1]["greedy"] - rows[0]["greedy"])
            pairs = itertools.pairwise(r["member_greedy"] for r in rows)
            drops[arm].append(min(b - a for x, y in pairs for a, b in zip(x, y, strict=True)))
            for r in rows:
                print(
                    f"| {seed} | {arm} | {r['iteration']} | {r['greedy']:.1f} / {r['sampled']:.1f} | {r['members']} | "
                    f"{r['members_sampled']} | {r.get('pairs', '')} | {cell(r.get('chosen_correct'), 3)} | "
                    f"{cell(r.get('versus_previous'), 3)} | {round(seconds)} |",
                    flush=True,
                )
    print(
        "\n| arm | change of mean greedy per seed | mean | sd | a member's largest fall in one iteration, per seed |"
        "\n| --- | --- | --- | --- | --- |"
    )
    for arm, values in gains.items():
        sd = statistics.stdev(values) if len(values) > 1 else None
        per_seed, falls = (" ".join(f"{v:+.1f}" for v in row) for row in (values, drops[arm]))
        print(f"| {arm} | {per_seed} | {statistics.mean(values):+.1f} | {cell(sd)} | {falls} |")


if __name__ == "__main__":
    main()
