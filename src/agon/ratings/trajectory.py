"""One scheme's ratings across iterations, beside the models' held-out accuracy: are the ratings informative?

Ratings drive matchmaking, judge weights and pairs, so they are only as useful as their order is right. The
embedded task has a verifier, so every iteration's ratings can be checked against the held-out accuracy of the
models that played it (``iter_<i>/eval``): the rank correlations per iteration are the ratings' health.
"""

from pathlib import Path

import pandas as pd

from agon.files import atomic_file, read_json
from agon.ratings.comparison import kendall_tau


def trajectory(document_paths: list[str | Path], eval_paths: list[str | Path] = ()) -> pd.DataFrame:
    """Rows (iteration, model, rating, uncertainty, ci_low, ci_high, matches, greedy/sampled accuracy).

    ``document_paths`` are the scheme's rating documents in iteration order (iteration = position);
    ``eval_paths`` are evaluation documents of any iterations (each names its model and iteration). A model
    without one has no accuracy (NaN).
    """
    accuracy = {}
    for path in eval_paths:
        report = read_json(path)
        accuracy[report["iteration"], report["model"]] = report
    rows = []
    for iteration, path in enumerate(document_paths):
        for model, entry in read_json(path)["models"].items():
            report = accuracy.get((iteration, model), {})
            rows.append(
                {
                    "iteration": iteration,
                    "model": model,
                    "rating": entry["rating"],
                    "uncertainty": entry.get("uncertainty"),
                    "ci_low": entry.get("ci_low"),
                    "ci_high": entry.get("ci_high"),
                    "matches": entry["matches"],
                    "greedy_accuracy": report.get("greedy_accuracy"),
                    "sampled_accuracy": report.get("sampled_accuracy"),
                }
            )
    return pd.DataFrame(rows)


def _spearman(x: pd.Series, y: pd.Series) -> float | None:
    """Pearson correlation of average ranks (what scipy's spearmanr computes); None when a side is constant."""
    rx, ry = x.rank(), y.rank()
    if rx.nunique() < 2 or ry.nunique() < 2:
        return None
    return float(rx.corr(ry))


def health(table: pd.DataFrame) -> pd.DataFrame:
    """Per iteration: rank correlations of rating with greedy accuracy, and the ratings' range.

    Only models with both a rating and an accuracy count; an iteration with fewer than 2 of them, or a
    constant side, has no correlation (empty).
    """
    rows = []
    for iteration, group in table.groupby("iteration", sort=True):
        known = group.dropna(subset=["rating", "greedy_accuracy"])
        enough = len(known) >= 2
        rows.append(
            {
                "iteration": iteration,
                "models": len(known),
                "spearman_greedy": _spearman(known["rating"], known["greedy_accuracy"]) if enough else None,
                "kendall_greedy": kendall_tau(known["rating"], known["greedy_accuracy"]) if enough else None,
                "rating_min": group["rating"].min(),
                "rating_max": group["rating"].max(),
            }
        )
    return pd.DataFrame(
        rows, columns=["iteration", "models", "spearman_greedy", "kendall_greedy", "rating_min", "rating_max"]
    )


def write_trajectory(
    document_paths: list[str | Path],
    eval_paths: list[str | Path],
    out_path: str | Path,
    health_path: str | Path,
) -> None:
    table = trajectory(document_paths, eval_paths)
    with atomic_file(out_path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    with atomic_file(health_path) as tmp:
        health(table).to_csv(tmp, sep="\t", index=False, float_format="%.4g")
