"""A run's held-out accuracy per iteration and member, greedy and sampled, as the README's table of the default
run shows it: read from the evaluations the run wrote (``iter_<i>/eval/<model>.json``, ``agon.evaluation``).

The figures hold for the machine the run ran on: a run is deterministic on one machine (same seed, any core count
and job order), but another CPU or GPU computes other floats (its kernels differ) and so other answers. The run
folder does not record its machine; the table names the machine of the process that prints it.
"""

from dataclasses import dataclass

import pandas as pd

from agon.cli.ratings import RunDataError
from agon.files import read_json
from agon.layout import RunLayout
from agon.report import accuracy_table

COLUMNS = ["iteration", "model", "greedy_accuracy", "sampled_accuracy"]
# What the table reads of an evaluation document.
READ = (*COLUMNS, "heldout_prompts", "samples_per_prompt", "temperature")


@dataclass(frozen=True)
class Accuracy:
    """The evaluations of a run, one row per (iteration, model), and how they were measured."""

    rows: pd.DataFrame
    heldout: int
    samples: int
    temperature: float

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.rows["model"]))

    @property
    def iterations(self) -> list[int]:
        return sorted(set(self.rows["iteration"]))


def read_accuracy(layout: RunLayout) -> Accuracy:
    """Every evaluation of the run, in the members' order of iteration 0's files (sorted by name)."""
    paths = sorted(p for i in layout.iterations() for p in (layout.iteration(i) / "eval").glob("*.json"))
    if not paths:
        raise RunDataError(f"{layout.root}: no evaluations yet (iter_<i>/eval/<model>.json)")
    reports = []
    for path in paths:
        report = read_json(path)
        missing = [key for key in READ if key not in report]
        if missing:
            raise ValueError(f"{path}: not an evaluation (no {', '.join(missing)})")
        reports.append(report)
    first = reports[0]
    rows = accuracy_table(reports).sort_values(["iteration", "model"], ignore_index=True)
    return Accuracy(rows, first["heldout_prompts"], first["samples_per_prompt"], first["temperature"])


def _percent(value: object) -> str:
    return "-" if value is None or pd.isna(value) else f"{100 * float(value):.1f}"


def accuracy_grid(accuracy: Accuracy) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table: one row per iteration, one column per member and the members' mean, each
    cell greedy / sampled in percent ("-" where a member has no evaluation or the task checks no answers, and for
    the mean of an iteration that lacks one)."""
    header = ["iteration", *accuracy.models, "mean"]
    table = accuracy.rows.set_index(["iteration", "model"])
    rows = []
    for i in accuracy.iterations:
        cells = [str(i)]
        for model in accuracy.models:
            found = table.loc[(i, model)] if (i, model) in table.index else None
            greedy = None if found is None else found["greedy_accuracy"]
            sampled = None if found is None else found["sampled_accuracy"]
            cells.append(f"{_percent(greedy)} / {_percent(sampled)}")
        of_i = accuracy.rows[accuracy.rows["iteration"] == i]
        whole = len(of_i) == len(accuracy.models)  # the population's mean, never of the members evaluated so far
        means = [of_i[c].astype(float).mean() if whole and of_i[c].notna().all() else None for c in COLUMNS[2:]]
        cells.append(f"{_percent(means[0])} / {_percent(means[1])}")
        rows.append(cells)
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in lines) + "\n"
