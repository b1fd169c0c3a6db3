"""The cheap logprob judge against the peer judges on the same duels: speed and agreement with the verifier.

Usage: python benchmarks/judge_speed.py [--run results/abl_s0_reference] [--iteration 0] [--duels 200]
                                        [--modes logprob score reference likelihood] [--repeats 1]

Reads a finished run's duels (matches and generations of one iteration) and its population (the embedded
members, with the iteration's adapters), takes the first --duels duels, and lets every member judge the duels it
is not in with each method, timing only ``judge()`` (models are loaded before the clock starts, as each judge job
loads its model once). One thread, as the workflow's judge jobs use. Per method: seconds, seconds per verdict
row, the ratio to the logprob judge, the share of valid rows, and the method's pooled verdict (members' mean
preference per duel) against the run's verifier on duels where exactly one answer is right: agreement where the
method decided, and how often it abstained.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import pandas as pd
import torch

from agon.contracts import JUDGMENTS, MATCHES, read_table
from agon.judging import JudgeConfig, make_judge, read_duels
from agon.judging.agreement import agreement
from agon.models import ModelSpec


def member_spec(run: Path, model: str, iteration: int) -> ModelSpec:
    """The member as the iteration's jobs use it: the base model with the previous iteration's adapter."""
    adapter = run / f"iter_{iteration - 1}" / "adapters" / model if iteration > 0 else None
    return ModelSpec(name=model, base=str(run / "models" / model), adapter=str(adapter) if adapter else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("results/abl_s0_reference"))
    parser.add_argument("--iteration", type=int, default=0)
    parser.add_argument("--duels", type=int, default=200)
    parser.add_argument("--modes", nargs="+", default=["logprob", "score", "reference", "likelihood"])
    args = parser.parse_args()
    torch.set_num_threads(1)

    iteration = args.run / f"iter_{args.iteration}"
    models = sorted(p.stem for p in (iteration / "generations").glob("*.parquet"))
    duels = read_duels(iteration / "matches.parquet", sorted((iteration / "generations").glob("*.parquet")))
    duels = duels.head(args.duels)
    matches = read_table(iteration / "matches.parquet", MATCHES)
    verifier = read_table(iteration / "judgments" / "verifier" / "verifier.parquet", JUDGMENTS)

    rows = []
    for mode in args.modes:
        cfg = JudgeConfig(method="logprob") if mode == "logprob" else JudgeConfig(method="peer", mode=mode)
        seconds, judgments = 0.0, []
        for model in models:
            mine = duels[(duels["model_a"] != model) & (duels["model_b"] != model)].reset_index(drop=True)
            judge = make_judge(
                cfg, model, task="arithmetic", spec=member_spec(args.run, model, args.iteration), device="cpu"
            )
            start = time.perf_counter()
            judgments.append(judge.judge(mine))
            seconds += time.perf_counter() - start
        table = pd.concat(judgments, ignore_index=True)
        report = agreement(matches[matches["match_id"].isin(duels["match_id"])], table, verifier)
        rows.append(
            {
                "method": "logprob" if mode == "logprob" else f"peer ({mode})",
                "seconds": seconds,
                "rows": len(table),
                "valid": float(table["valid"].mean()),
                "agreement": report["agreement_one_correct"],
                "abstained": report["abstained_one_correct"],
                "one_correct": report["one_correct_duels"],
            }
        )
    base = next(r["seconds"] for r in rows if r["method"] == "logprob")
    print(
        f"{args.run} iteration {args.iteration}: {len(duels)} duels, {len(models)} member judges, 1 thread; "
        f"{platform.machine()}, torch {torch.__version__}\n"
    )
    print("| method | seconds | ms per verdict row | / logprob | valid rows | agreement with verifier | abstained |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        fmt = lambda v: "" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        print(
            f"| {r['method']} | {r['seconds']:.2f} | {1000 * r['seconds'] / max(r['rows'], 1):.2f} | "
            f"{r['seconds'] / base:.1f} | {fmt(r['valid'])} | {fmt(r['agreement'])} (n={r['one_correct']}) | "
            f"{fmt(r['abstained'])} |"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
