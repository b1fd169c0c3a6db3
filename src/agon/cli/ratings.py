"""A run's ratings as tables: one scheme's ratings of one iteration, and the schemes compared side by side.

Read from the documents the rate stage writes (``iter_<i>/ratings/<scheme>.json``, ``agon.ratings``) and the
comparison of the schemes (``iter_<i>/ratings/comparison.json``, ``agon.ratings.comparison``).
"""

from pathlib import Path

import pandas as pd

from agon.files import read_json
from agon.layout import RunLayout
from agon.ratings import SCHEMES

RATING_COLUMNS = ["model", "rating", "uncertainty", "ci_low", "ci_high", "matches", "greedy_accuracy"]
METRIC_COLUMNS = ["scheme", "log_loss", "accuracy", "ci_separability"]


class RunDataError(LookupError):
    """What was asked of a run is not in its folder; the message names what is there instead."""


def _document(path: Path, keys: tuple[str, ...], kind: str) -> dict:
    """The JSON object at ``path``, checked for the keys this module reads; a ValueError names what lacks."""
    document = read_json(path)
    missing = [key for key in keys if key not in document]
    if missing:
        raise ValueError(f"{path}: not a {kind} (no {', '.join(missing)})")
    return document


def documented_schemes(layout: RunLayout) -> dict[str, list[int]]:
    """Scheme -> the iterations that hold its ratings document, for the schemes with at least one."""
    found = {s: [i for i in layout.iterations() if layout.file("ratings", i=i, scheme=s).is_file()] for s in SCHEMES}
    return {scheme: iterations for scheme, iterations in found.items() if iterations}


def signal_scheme(layout: RunLayout) -> str | None:
    """The scheme that drives the run, as its files show it: the only one rated, else the one with a trajectory
    table (the workflow builds the signal's), else the one rated in most iterations; None before any rating.

    Other schemes are rated on demand only (docs/architecture.md), so a run usually holds one; ties go to SCHEMES'
    order.
    """
    found = documented_schemes(layout)
    if len(found) <= 1:
        return next(iter(found), None)
    return max(found, key=lambda s: (layout.file("trajectory", scheme=s).is_file(), len(found[s]), -SCHEMES.index(s)))


def _iterations_text(iterations: list[int]) -> str:
    return ", ".join(map(str, iterations)) if iterations else "none"


def _not_rated(layout: RunLayout, scheme: str) -> RunDataError:
    found = documented_schemes(layout)
    last = max((i for iterations in found.values() for i in iterations), default=0)
    target = layout.file("ratings", i=last, scheme=scheme)
    return RunDataError(
        f"{layout.root}: no {scheme} ratings in any iteration; schemes rated: {', '.join(found) or 'none'} "
        f"(rate one from the judgments on disk: snakemake [your options] {target})"
    )


def last_rated_iteration(layout: RunLayout, scheme: str) -> int:
    """The last iteration that holds ratings of ``scheme``."""
    found = documented_schemes(layout).get(scheme)
    if not found:
        raise _not_rated(layout, scheme)
    return found[-1]


def ratings_table(layout: RunLayout, scheme: str, iteration: int) -> pd.DataFrame:
    """The models of ``iteration`` under ``scheme``, best first: rating, uncertainty, interval (where the scheme
    has one), duels played, and the held-out greedy accuracy of the models that played the iteration."""
    path = layout.file("ratings", i=iteration, scheme=scheme)
    if not path.is_file():
        found = documented_schemes(layout)
        if scheme not in found:
            raise _not_rated(layout, scheme)
        raise RunDataError(f"{path}: not found; iterations with {scheme} ratings: {_iterations_text(found[scheme])}")
    document = _document(path, ("models",), "ratings document")
    rows = []
    for model, entry in document["models"].items():
        evaluation = layout.file("evaluation", i=iteration, model=model)
        accuracy = read_json(evaluation).get("greedy_accuracy") if evaluation.is_file() else None
        rows.append(
            {
                "model": model,
                "rating": entry["rating"],
                "uncertainty": entry.get("uncertainty"),
                "ci_low": entry.get("ci_low"),
                "ci_high": entry.get("ci_high"),
                "matches": entry.get("matches"),
                "greedy_accuracy": accuracy,
            }
        )
    table = pd.DataFrame(rows, columns=RATING_COLUMNS)
    return table.sort_values(["rating", "model"], ascending=[False, True], ignore_index=True)


def comparison_iterations(layout: RunLayout) -> list[int]:
    return [i for i in layout.iterations() if layout.file("comparison", i=i).is_file()]


def read_comparison(layout: RunLayout, iteration: int) -> dict:
    path = layout.file("comparison", i=iteration)
    if not path.is_file():
        found = comparison_iterations(layout)
        raise RunDataError(f"{path}: not found; iterations with a comparison: {_iterations_text(found)}")
    keys = ("schemes", "models", "ratings", "kendall_tau", "duels", "test_duels", *METRIC_COLUMNS[1:])
    return _document(path, keys, "scheme comparison")


def comparison_metrics(comparison: dict, reference: str | None = None) -> pd.DataFrame:
    """One row per scheme: held-out log-loss and accuracy, CI separability, and Kendall tau with ``reference``'s
    ratings (a column ``tau_<reference>``, when given and compared)."""
    rows = []
    for scheme in comparison["schemes"]:
        row = {key: comparison[key][scheme] for key in METRIC_COLUMNS[1:]}
        if reference in comparison["schemes"]:
            row[f"tau_{reference}"] = comparison["kendall_tau"][scheme][reference]
        rows.append({"scheme": scheme, **row})
    return pd.DataFrame(rows)


def comparison_ratings(comparison: dict) -> pd.DataFrame:
    """Models by rows, schemes by columns: every scheme's ratings of the models on all the iteration's duels."""
    ratings = comparison["ratings"]
    rows = [{"model": m, **{s: ratings[s].get(m) for s in comparison["schemes"]}} for m in comparison["models"]]
    return pd.DataFrame(rows, columns=["model", *comparison["schemes"]])
