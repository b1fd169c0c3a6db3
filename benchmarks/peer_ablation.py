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

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ARMS = {
    "verifier": {"judging": {"judges": ["verifier"], "signal": "verifier"}},
    "likelihood": {"judging": {"judges": ["peer", "verifier"], "signal": "peer", "peer_mode": "likelihood"}},
    "reference": {
        "judging": {"judges": ["peer", "verifier"], "signal": "peer", "peer_mode": "reference"},
        "pairs": {"margin": 0.99, "min_judges": 2},
    },
}
SHARED = ("data", "bootstrap", "models")


def run_arm(seed: int, arm: str, workdir: Path) -> float:
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    run = f"abl_s{seed}_{arm}"
    config = {**base, "run": run, "seed": seed, **ARMS[arm]}
    out = workdir / "results" / run
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    donors = [workdir / "results" / f"abl_s{seed}_{a}" for a in ARMS if a != arm]
    donor = next((d for d in donors if (d / "models").exists()), None)
    if donor is not None and not (out / "models").exists():  # the seed's bootstrap, trained once
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
            ],
            cwd=workdir,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return time.perf_counter() - start


def summarise(workdir: Path, seed: int, arm: str, seconds: float, iterations: int) -> list[dict]:
    out = workdir / "results" / f"abl_s{seed}_{arm}"
    models = sorted(p.stem for p in (out / "iter_0" / "eval").glob("*.json"))
    rows = []
    for i in range(iterations + 1):
        evals = {m: json.loads((out / f"iter_{i}" / "eval" / f"{m}.json").read_text()) for m in models}
        row = {
            "seed": seed,
            "arm": arm,
            "iteration": i,
            "seconds": round(seconds),
            "greedy": 100 * sum(e["greedy_accuracy"] for e in evals.values()) / len(models),
            "sampled": 100 * sum(e["sampled_accuracy"] for e in evals.values()) / len(models),
            "members": " ".join(f"{100 * evals[m]['greedy_accuracy']:.1f}" for m in models),
        }
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--workdir", type=Path, default=REPO)
    args = parser.parse_args()
    iterations = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["iterations"]
    print(
        "| seed | arm | iter | mean greedy | mean sampled | members greedy | pairs | chosen correct | abstain "
        "| peer-verifier agreement | run seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for seed in args.seeds:
        for arm in args.arms:
            seconds = run_arm(seed, arm, args.workdir)
            for r in summarise(args.workdir, seed, arm, seconds, iterations):
                fmt = lambda v, p=1: "" if v is None else f"{v:.{p}f}"  # noqa: E731
                print(
                    f"| {seed} | {arm} | {r['iteration']} | {r['greedy']:.1f} | {r['sampled']:.1f} | "
                    f"{r['members']} | {r.get('pairs', '')} | {fmt(r.get('chosen_correct'), 3)} | "
                    f"{fmt(r.get('abstain'), 3)} | {fmt(r.get('agreement'), 3)} | {r['seconds']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
