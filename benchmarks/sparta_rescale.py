"""Re-rate stored judgments with SPARTA's two update forms and check each against held-out accuracy.

Usage: python benchmarks/sparta_rescale.py [--runs 'results/abl_s*'] [--out /tmp/sparta_rescale]

For every finished run (the ablation's, by default: benchmarks/peer_ablation.py; the signal judge is the
peers where they judged, else the verifier), the ratings of each variant are
recomputed iteration by iteration from the run's own matches and signal judgments, continuing from the variant's
previous iteration as the rate stage does, without loading a model. Per variant it prints the mean Spearman
correlation between the ratings and the held-out greedy accuracy of the models that played (iter_<i>/eval), the
share of iterations where it is positive, and the ratings' range (max - min), median and largest. Bradley-Terry
(no bootstrap) and win rate are printed as references.
"""

import argparse
import glob
from pathlib import Path

import numpy as np

from agon.ratings import rate_iteration
from agon.ratings.trajectory import health, trajectory

VARIANTS = {
    "sparta, authors' form (K 10 -> 5)": ("sparta", {"centered": False, "k0": 10.0, "k_min": 5.0}),
    "sparta, centred, K 10 -> 5": ("sparta", {"k0": 10.0, "k_min": 5.0}),
    "sparta, centred, spread 20 (K 4 -> 1)": ("sparta", {"spread": 20.0}),
    "sparta, centred (the default: spread 40, K 4 -> 1)": ("sparta", {}),
    "sparta, centred, K 2 -> 0.5": ("sparta", {"k0": 2.0, "k_min": 0.5}),
    "bradley_terry (no bootstrap)": ("bradley_terry", {"bootstrap_rounds": 0}),
    "win_rate": ("win_rate", {}),
}


def rerate(run: Path, scheme: str, params: dict, out: Path) -> list[Path]:
    """The scheme's documents for every iteration of ``run``, from its matches and signal judgments."""
    models = sorted(p.stem for p in (run / "iter_0" / "eval").glob("*.json"))
    methods = {p.name for p in run.glob("iter_0/judgments/*") if p.is_dir()}
    # The signal judge: peers where they judged (the verifier then only audits them), else the verifier.
    signal = "peer" if "peer" in methods else "verifier"
    documents, previous = [], None
    for i in range(len(list(run.glob("iter_*/matches.parquet")))):
        iteration = run / f"iter_{i}"
        judgments = sorted((iteration / "judgments" / signal).glob("*.parquet"))
        document = out / f"{i}.json"
        rate_iteration(
            iteration / "matches.parquet", judgments, previous, document, scheme, params, models, 0, iteration=i
        )
        documents.append(document)
        previous = document
    return documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="results/abl_s*")
    parser.add_argument("--out", type=Path, default=Path("/tmp/sparta_rescale"))
    args = parser.parse_args()
    runs = [Path(p) for p in sorted(glob.glob(args.runs)) if (Path(p) / "iter_0" / "eval").is_dir()]
    print(f"{len(runs)} runs: {', '.join(r.name for r in runs)}\n")
    print("| variant | mean Spearman with greedy accuracy | share > 0 | range, median | range, largest |")
    print("| --- | --- | --- | --- | --- |")
    for label, (scheme, params) in VARIANTS.items():
        rows = []
        for k, run in enumerate(runs):
            out = args.out / f"{k}_{scheme}"
            out.mkdir(parents=True, exist_ok=True)
            documents = rerate(run, scheme, params, out)
            evals = sorted(run.glob("iter_*/eval/*.json"))
            rows.append(health(trajectory(documents, evals)))
        spearman = np.concatenate([r["spearman_greedy"].to_numpy(dtype=float) for r in rows])
        spread = np.concatenate([(r["rating_max"] - r["rating_min"]).to_numpy(dtype=float) for r in rows])
        print(
            f"| {label} | {np.nanmean(spearman):.2f} | {np.mean(spearman[~np.isnan(spearman)] > 0):.2f} "
            f"| {np.median(spread):.3g} | {spread.max():.3g} |"
        )


if __name__ == "__main__":
    main()
