"""Time Bradley-Terry with bootstrap intervals on a million judgments, against scikit-learn's logistic regression.

Usage: python benchmarks/bradley_terry.py [--judgments 1000000] [--models 100] [--rounds 100] [--threads 2]
                                          [--repeats 3] [--seed 0]
Needs the bench extra (scipy, scikit-learn, threadpoolctl): pip install -e '.[bench]'.

The judgments are synthetic and seeded: models with N(0, 1) logit strengths, duels between two distinct models
drawn uniformly, the first winning with probability sigmoid(s_a - s_b) (d = +1 or -1; no ties, so scikit-learn
fits exactly the same rows). Agon's fit starts from the verdicts frame the rate stage hands it (model names as
strings) and returns the finished document; scikit-learn's fits start from the integer model indices and include
building their design matrix. Both use Agon's default ridge (l2 = 1e-3, i.e. C = 1 / l2 = 1000), so both maximise
the same objective, and the table reports how far apart their logits land.

scikit-learn is fitted twice on the per-judgment design (one sparse row per judgment: +1 for a, -1 for b, no
intercept): at its default tolerance and at 1e-8, close to the precision Agon's Newton steps reach (1e-9 logits).
A third fit gives lbfgs the judgments aggregated per pair (two rows per pair, the wins and losses as sample
weights): the same likelihood at a fraction of the rows, as FastChat's later leaderboards fit it. Last, scikit-learn
does the whole job Agon's bootstrap call does, as FastChat's leaderboard does it: that per-pair fit, then one refit
per bootstrap round.

Every timed call runs under threadpoolctl's limit of --threads (BLAS and OpenMP, which scikit-learn's loss uses):
the target machine has 2 cores. Times are medians of --repeats calls, in this one process.
"""

import argparse
import math
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse
import sklearn
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits

from agon.ratings.bradley_terry import BradleyTerryConfig, fit_bradley_terry, pair_counts
from agon.ratings.verdicts import rated_duels


def synthetic_judgments(n_judgments: int, n_models: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, d): model indices and the verdict of each judgment, drawn from N(0, 1) strengths."""
    rng = np.random.default_rng(seed)
    strengths = rng.normal(size=n_models)
    a = rng.integers(n_models, size=n_judgments)
    b = (a + rng.integers(1, n_models, size=n_judgments)) % n_models  # any model but a, uniformly
    wins = rng.random(n_judgments) < 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
    return a, b, np.where(wins, 1.0, -1.0)


def verdicts_frame(a: np.ndarray, b: np.ndarray, d: np.ndarray, names: list[str]) -> pd.DataFrame:
    """The verdicts as ``duel_verdicts`` writes them: one row per judged duel."""
    n = len(d)
    ids = pd.Series(np.arange(n)).astype(str)
    return pd.DataFrame(
        {
            "match_id": "m" + ids,
            "round": np.zeros(n, dtype=np.int64),
            "prompt_id": "p" + ids,
            "model_a": np.asarray(names)[a],
            "model_b": np.asarray(names)[b],
            "d": d,
            "n_judges": np.ones(n, dtype=np.int64),
        }
    )


def timed(call: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall seconds of ``repeats`` calls, and the last call's result."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def sklearn_per_judgment(a: np.ndarray, b: np.ndarray, d: np.ndarray, n_models: int, l2: float, tol: float):
    n = len(d)
    x = scipy.sparse.csr_matrix(
        (np.tile([1.0, -1.0], n), np.column_stack([a, b]).ravel(), np.arange(0, 2 * n + 1, 2)), shape=(n, n_models)
    )
    model = LogisticRegression(C=1 / l2, fit_intercept=False, solver="lbfgs", tol=tol, max_iter=10_000)
    return model.fit(x, d > 0)


def per_pair_counts(a: np.ndarray, b: np.ndarray, d: np.ndarray, n_models: int):
    """(pairs, wins, losses): each pair i < j coded i * n_models + j, and i's wins and losses in it."""
    i, j = np.minimum(a, b), np.maximum(a, b)
    i_won = (d > 0) == (a == i)
    pairs, inverse = np.unique(i * n_models + j, return_inverse=True)
    wins = np.bincount(inverse, weights=i_won, minlength=len(pairs))
    return pairs, wins, np.bincount(inverse, minlength=len(pairs)) - wins


def sklearn_weighted(pairs: np.ndarray, wins: np.ndarray, losses: np.ndarray, n_models: int, l2: float, tol: float):
    """One lbfgs fit with two rows per pair (i won, i lost) and the counts as sample weights."""
    rows = np.arange(len(pairs))
    x = np.zeros((len(pairs), n_models))
    x[rows, pairs // n_models] = 1.0
    x[rows, pairs % n_models] = -1.0
    model = LogisticRegression(C=1 / l2, fit_intercept=False, solver="lbfgs", tol=tol, max_iter=10_000)
    return model.fit(
        np.vstack([x, x]),
        np.concatenate([np.ones(len(pairs), bool), np.zeros(len(pairs), bool)]),
        sample_weight=np.concatenate([wins, losses]),
    )


def sklearn_per_pair(a: np.ndarray, b: np.ndarray, d: np.ndarray, n_models: int, l2: float, tol: float):
    return sklearn_weighted(*per_pair_counts(a, b, d, n_models), n_models, l2, tol)


def sklearn_bootstrap(a, b, d, n_models: int, l2: float, tol: float, rounds: int, seed: int):
    """The whole job done FastChat's way: a point fit, then one refit per bootstrap round of re-drawn duels.

    The rounds re-draw the per-pair cells multinomially as Agon does, so scikit-learn gets its fastest
    formulation (the weighted per-pair design), not a million resampled rows per round.
    """
    pairs, wins, losses = per_pair_counts(a, b, d, n_models)
    point = sklearn_weighted(pairs, wins, losses, n_models, l2, tol)
    cells = np.concatenate([wins, losses])
    draws = np.random.default_rng(seed).multinomial(int(cells.sum()), cells / cells.sum(), size=rounds)
    for draw in draws:
        sklearn_weighted(pairs, draw[: len(pairs)], draw[len(pairs) :], n_models, l2, tol)
    return point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judgments", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    names = [f"model_{k:03d}" for k in range(args.models)]
    a, b, d = synthetic_judgments(args.judgments, args.models, args.seed)
    verdicts = verdicts_frame(a, b, d, names)
    point_cfg = BradleyTerryConfig(bootstrap_rounds=0)
    bootstrap_cfg = BradleyTerryConfig(bootstrap_rounds=args.rounds)
    points = point_cfg.scale / math.log(10)
    load_before = os.getloadavg()

    rows = []
    with threadpool_limits(limits=args.threads):
        pools = sorted({(pool["internal_api"], pool["num_threads"]) for pool in threadpool_info()})
        seconds, _ = timed(lambda: pair_counts(rated_duels(verdicts, names), names), args.repeats)
        rows.append(("Agon: verdicts to pair counts only (pandas)", seconds, None))
        seconds, point = timed(lambda: fit_bradley_terry(verdicts, None, names, point_cfg), args.repeats)
        rows.append(("Agon `fit_bradley_terry`, point fit, no bootstrap", seconds, None))
        agon_point = seconds
        seconds, document = timed(
            lambda: fit_bradley_terry(verdicts, None, names, bootstrap_cfg, seed=args.seed), args.repeats
        )
        rows.append((f"Agon `fit_bradley_terry`, point fit + {args.rounds} bootstrap rounds", seconds, None))
        agon_bootstrap = seconds

        ours = np.array([point["models"][name]["rating"] for name in names])
        ours = (ours - ours.mean()) / points  # logits, mean 0
        assert [document["models"][name]["rating"] for name in names] == [
            point["models"][name]["rating"] for name in names
        ], "the bootstrap changed the point estimate"
        baselines = [
            ("scikit-learn lbfgs, per judgment, tol 1e-4 (its default)", sklearn_per_judgment, 1e-4),
            ("scikit-learn lbfgs, per judgment, tol 1e-8", sklearn_per_judgment, 1e-8),
            ("scikit-learn lbfgs, per pair with sample weights, tol 1e-8", sklearn_per_pair, 1e-8),
        ]
        seconds, _ = timed(
            lambda: sklearn_bootstrap(a, b, d, args.models, point_cfg.l2, 1e-8, args.rounds, args.seed), args.repeats
        )
        rows.append(
            (f"scikit-learn, the same job: per-pair fit + {args.rounds} bootstrap refits, tol 1e-8", seconds, None)
        )
        for label, fit, tol in baselines:
            seconds, model = timed(lambda fit=fit, tol=tol: fit(a, b, d, args.models, point_cfg.l2, tol), args.repeats)
            logits = model.coef_[0] - model.coef_[0].mean()
            rows.append((f"{label}; {model.n_iter_[0]} iterations", seconds, float(np.abs(logits - ours).max())))
    load_after = os.getloadavg()

    print(
        f"{args.judgments:,} judgments, {args.models} models, {args.rounds} bootstrap rounds, seed {args.seed}; "
        f"median of {args.repeats}; threads limited to {args.threads} ({pools}); {platform.machine()}, "
        f"{os.cpu_count()} CPUs; numpy {np.__version__}, pandas {pd.__version__}, scikit-learn {sklearn.__version__}; "
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}\n"
    )
    print("| fit | seconds | max abs logit difference from Agon | this / Agon with bootstrap | this / Agon point fit |")
    print("|:--|--:|--:|--:|--:|")
    for label, seconds, difference in rows:
        gap = "" if difference is None else f"{difference:.1e}"
        print(f"| {label} | {seconds:.2f} | {gap} | {seconds / agon_bootstrap:.2f} | {seconds / agon_point:.2f} |")


if __name__ == "__main__":
    main()
