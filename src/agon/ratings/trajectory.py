"""One scheme's ratings across iterations: the table a run's rating trajectory is read from."""

from pathlib import Path

import pandas as pd

from agon.files import atomic_file, read_json


def trajectory(document_paths: list[str | Path]) -> pd.DataFrame:
    """Rows (iteration, model, rating, uncertainty, ci_low, ci_high, matches), one per model and document.

    ``document_paths`` are the scheme's rating documents in iteration order (iteration = position).
    """
    rows = []
    for iteration, path in enumerate(document_paths):
        for model, entry in read_json(path)["models"].items():
            rows.append(
                {
                    "iteration": iteration,
                    "model": model,
                    "rating": entry["rating"],
                    "uncertainty": entry.get("uncertainty"),
                    "ci_low": entry.get("ci_low"),
                    "ci_high": entry.get("ci_high"),
                    "matches": entry["matches"],
                }
            )
    return pd.DataFrame(rows)


def write_trajectory(document_paths: list[str | Path], out_path: str | Path) -> None:
    with atomic_file(out_path) as tmp:
        trajectory(document_paths).to_csv(tmp, sep="\t", index=False)
