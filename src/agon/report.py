"""The figures of ``snakemake --report`` that no stage draws itself: one function per figure, one PNG each.

Every figure reads files the run already wrote (rating tables, verdicts, evaluations, training logs, pair
statistics), so drawing it loads no model. Figures use matplotlib's object-oriented API on an Agg canvas (no
pyplot state, no display) and are saved without a creation time or software version, so the same files give
the same bytes.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import (
    JUDGMENTS,
    MATCHES,
    PAIR_STATS,
    TOURNAMENT,
    WIN_RATE_VS_BASE,
    read_document,
    read_table,
    read_tables,
)
from agon.files import atomic_file, read_json
from agon.ratings.verdicts import duel_verdicts

logger = logging.getLogger(__name__)

# PNG text chunks matplotlib would add: the software version changes with an upgrade, so none is written.
PNG_METADATA = {"Software": None}
DPI = 110


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, out_png: str | Path) -> None:
    with atomic_file(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata=PNG_METADATA)


def _no_data(ax, text: str) -> None:
    """An empty panel that says why: a report with a hole looks like a bug, one with a sentence does not."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


# --- rating trajectories --------------------------------------------------------------------------------------


def interval(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str]:
    """Lower and upper ends of each row's band, and what the band is.

    The scheme's own interval (``ci_low``/``ci_high``: Bradley-Terry's bootstrap, Weng-Lin's belief) where it
    writes one; else rating -/+ ``uncertainty`` (SPARTA's sigma, the win rate's standard error); else no band
    (Elo): NaN ends.
    """
    rating = table["rating"].to_numpy(dtype=float)
    if table["ci_low"].notna().any():
        return table["ci_low"].to_numpy(dtype=float), table["ci_high"].to_numpy(dtype=float), "interval"
    if table["uncertainty"].notna().any():
        spread = table["uncertainty"].to_numpy(dtype=float)
        return rating - spread, rating + spread, "rating -/+ uncertainty"
    return np.full_like(rating, np.nan), np.full_like(rating, np.nan), "no interval"


def plot_rating_trajectory(table: pd.DataFrame, scheme: str, out_png: str | Path) -> None:
    """Each model's rating after every iteration with its band, beside its held-out greedy accuracy.

    ``table`` has the columns of ``ratings/<scheme>.tsv`` (agon.ratings.trajectory): iteration, model, rating,
    uncertainty, ci_low, ci_high, greedy_accuracy.
    """
    fig = _figure(10, 4)
    ax_rating, ax_accuracy = fig.subplots(1, 2, width_ratios=[3, 2])
    if table.empty:
        _no_data(ax_rating, "no ratings")
        _no_data(ax_accuracy, "no ratings")
        _save(fig, out_png)
        return
    table = table.sort_values(["model", "iteration"])
    _, _, band = interval(table)
    for model, rows in table.groupby("model", sort=True):
        low, high, _ = interval(rows)
        iterations = rows["iteration"].to_numpy()
        (line,) = ax_rating.plot(iterations, rows["rating"], marker="o", label=model)
        if not np.isnan(low).all():
            ax_rating.fill_between(iterations, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
        ax_accuracy.scatter(rows["greedy_accuracy"], rows["rating"], color=line.get_color(), label=model)
        for _, row in rows.iterrows():
            ax_accuracy.annotate(str(row["iteration"]), (row["greedy_accuracy"], row["rating"]), fontsize=7)
    ax_rating.set_xticks(sorted(table["iteration"].unique()))
    ax_rating.set_xlabel("iteration (ratings after its duels)")
    ax_rating.set_ylabel(f"{scheme} rating")
    ax_rating.set_title(f"{scheme}: rating per model (band: {band})", fontsize=10)
    ax_rating.legend(fontsize=8)
    ax_accuracy.set_xlabel("held-out greedy accuracy of the models that played")
    ax_accuracy.set_ylabel(f"{scheme} rating")
    ax_accuracy.set_title("rating against accuracy (labels: iteration)", fontsize=10)
    _save(fig, out_png)


def write_rating_trajectory_plot(table_path: str | Path, scheme: str, out_png: str | Path) -> None:
    table = pd.read_csv(table_path, sep="\t")
    plot_rating_trajectory(table, scheme, out_png)
    logger.info(
        "plotted %s ratings of %d models over %d iterations",
        scheme,
        table["model"].nunique(),
        table["iteration"].nunique(),
    )


# --- who beats whom ---------------------------------------------------------------------------------------------


def win_matrix(verdicts: pd.DataFrame, models: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(wins, games): wins[r, c] counts row model r's wins over column model c, a tie as half a win each.

    ``verdicts`` are duel verdicts (agon.ratings.verdicts.duel_verdicts): ``d > 0`` means model_a won. Duels
    without a verdict (``d`` NaN) and duels with a model outside ``models`` are left out.
    """
    index = {model: k for k, model in enumerate(models)}
    wins = np.zeros((len(models), len(models)))
    games = np.zeros((len(models), len(models)))
    decided = verdicts.dropna(subset=["d"])
    for a, b, d in zip(decided["model_a"], decided["model_b"], decided["d"], strict=True):
        if a not in index or b not in index or a == b:
            continue
        ra, rb = index[a], index[b]
        score = 1.0 if d > 0 else 0.0 if d < 0 else 0.5
        wins[ra, rb] += score
        wins[rb, ra] += 1.0 - score
        games[ra, rb] += 1
        games[rb, ra] += 1
    return wins, games


def plot_win_matrices(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray]], models: Sequence[str], out_png: str | Path
) -> None:
    """One heat map per (title, wins, games): the row model's win rate against the column model."""
    from matplotlib import colormaps

    columns = min(len(panels), 4)
    rows = -(-len(panels) // columns)
    size = 1.2 + 0.55 * len(models)
    fig = _figure(size * columns + 1.0, size * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    image = None
    for ax, (title, wins, games) in zip(axes, panels, strict=False):
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(games > 0, wins / games, np.nan)
        image = ax.imshow(np.ma.masked_invalid(rate), cmap=colormaps["RdBu"].with_extremes(bad="0.9"), vmin=0, vmax=1)
        for (r, c), value in np.ndenumerate(rate):
            label = "-" if np.isnan(value) else f"{value:.2f}\n{wins[r, c]:g}/{games[r, c]:g}"
            colour = "white" if abs(value - 0.5) > 0.35 else "black"
            ax.text(c, r, label, ha="center", va="center", fontsize=7, color=colour)
        ax.set_xticks(range(len(models)), models, rotation=45, ha="right")
        ax.set_yticks(range(len(models)), models)
        ax.set_title(title, fontsize=10)
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    if image is not None:
        fig.colorbar(image, ax=list(axes[: len(panels)]), shrink=0.7, label="row's win rate against column")
    _save(fig, out_png)


def write_win_matrices(
    matches_paths: Sequence[str | Path],
    judgment_paths: Sequence[Sequence[str | Path]],
    models: Sequence[str],
    out_png: str | Path,
) -> None:
    """Win rates of the signal judge's verdicts (judges weighed equally), per iteration and over all of them.

    ``matches_paths[i]`` and ``judgment_paths[i]`` are iteration i's matches and signal judgments.
    """
    if len(matches_paths) != len(judgment_paths):
        raise ValueError(
            f"write_win_matrices: {len(matches_paths)} matches files for {len(judgment_paths)} iterations of judgments"
        )
    panels = []
    total_wins = np.zeros((len(models), len(models)))
    total_games = np.zeros((len(models), len(models)))
    for iteration, (matches_path, paths) in enumerate(zip(matches_paths, judgment_paths, strict=True)):
        verdicts = duel_verdicts(read_table(matches_path, MATCHES), read_tables(list(paths), JUDGMENTS), {})
        wins, games = win_matrix(verdicts, models)
        panels.append((f"iteration {iteration} ({games.sum() / 2:g} decided)", wins, games))
        total_wins += wins
        total_games += games
    if len(panels) > 1:
        panels.append((f"all iterations ({total_games.sum() / 2:g} decided)", total_wins, total_games))
    plot_win_matrices(panels, models, out_png)
    logger.info("plotted win rates of %d models over %d iterations", len(models), len(matches_paths))


def plot_selfplay_win_rates(summaries: Sequence[dict], models: Sequence[str], out_png: str | Path) -> None:
    """Selfplay: each policy's win rate against its previous policy (rows: models, columns: iterations),
    beside how many of its prompts the ranker told apart. ``summaries[i]`` is iteration i's selfplay.json."""
    from matplotlib import colormaps

    def grid(field: str) -> np.ndarray:
        return np.array(
            [[np.nan if (v := s["models"].get(m, {}).get(field)) is None else v for s in summaries] for m in models],
            dtype=float,
        ).reshape(len(models), len(summaries))

    versus = grid("win_rate_vs_previous")
    with np.errstate(invalid="ignore", divide="ignore"):  # no prompts: NaN, drawn as "-"
        told_apart = grid("prompts_told_apart") / grid("prompts")
    fig = _figure(max(9.0, 3.0 + 2.0 * len(summaries)), 2.0 + 0.5 * len(models))
    axes = fig.subplots(1, 2)
    for ax, values, title in (
        (axes[0], versus, "win rate against the previous policy\n(-: iteration 0 has none)"),
        (axes[1], told_apart, "share of prompts whose answers\nthe ranker told apart"),
    ):
        image = ax.imshow(
            np.ma.masked_invalid(values), cmap=colormaps["RdBu"].with_extremes(bad="0.9"), vmin=0, vmax=1, aspect="auto"
        )
        for (r, c), value in np.ndenumerate(values):
            colour = "white" if abs(value - 0.5) > 0.35 else "black"
            ax.text(
                c, r, "-" if np.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=8, color=colour
            )
        ax.set_xticks(range(len(summaries)), [f"iter {i}" for i in range(len(summaries))])
        ax.set_yticks(range(len(models)), models)
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=list(axes), shrink=0.8)
    _save(fig, out_png)


def write_selfplay_win_rates(summary_paths: Sequence[str | Path], models: Sequence[str], out_png: str | Path) -> None:
    plot_selfplay_win_rates([read_json(p) for p in summary_paths], models, out_png)
    logger.info("plotted selfplay win rates of %d models over %d iterations", len(models), len(summary_paths))


# --- held-out accuracy ------------------------------------------------------------------------------------------


def accuracy_table(reports: Sequence[dict]) -> pd.DataFrame:
    """Rows (iteration, model, greedy_accuracy, sampled_accuracy) from evaluation documents, sorted."""
    rows = [
        {key: report.get(key) for key in ("iteration", "model", "greedy_accuracy", "sampled_accuracy")}
        for report in reports
    ]
    columns = ["iteration", "model", "greedy_accuracy", "sampled_accuracy"]
    return pd.DataFrame(rows, columns=columns).sort_values(["model", "iteration"]).reset_index(drop=True)


def plot_accuracy(table: pd.DataFrame, out_png: str | Path) -> None:
    """Greedy and sampled held-out accuracy per model across iterations, with the population's mean dashed."""
    fig = _figure(10, 3.8)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, column, title in (
        (axes[0], "greedy_accuracy", "greedy"),
        (axes[1], "sampled_accuracy", "sampled"),
    ):
        for model, rows in table.groupby("model", sort=True):
            ax.plot(rows["iteration"], 100 * rows[column].astype(float), marker="o", label=model)
        mean = table.groupby("iteration", sort=True)[column].mean()
        ax.plot(mean.index, 100 * mean.astype(float), color="black", linestyle="--", label="mean")
        ax.set_xticks(sorted(table["iteration"].unique()))
        ax.set_xlabel("iteration (0: initial models; i: after i trainings)")
        ax.set_title(f"held-out accuracy, {title}", fontsize=10)
        ax.grid(alpha=0.3)
    # Accuracy has an absolute scale: the axis keeps within 0-100 but zooms to the values, 5 points around.
    values = 100 * table[["greedy_accuracy", "sampled_accuracy"]].astype(float).to_numpy()
    low, high = (np.nanmin(values), np.nanmax(values)) if np.isfinite(values).any() else (0.0, 100.0)
    axes[0].set_ylim(max(0.0, low - 5), min(100.0, high + 5))
    axes[0].set_ylabel("accuracy (%)")
    axes[1].legend(fontsize=8)
    _save(fig, out_png)


def write_accuracy_plot(eval_paths: Sequence[str | Path], out_png: str | Path) -> None:
    table = accuracy_table([read_json(p) for p in eval_paths])
    plot_accuracy(table, out_png)
    logger.info("plotted held-out accuracy of %d evaluations", len(table))


# --- win rate against the iteration-0 self ------------------------------------------------------------------------


def plot_win_rate_vs_base(documents: Sequence[dict], out_png: str | Path) -> None:
    """Each model's win rate against its iteration-0 self after every training, with its Wilson interval; the
    dashed line at 0.5 is where the model started. Models sit side by side at each iteration, so bars never hide
    each other."""
    fig = _figure(8, 3.8)
    ax = fig.subplots()
    decided = [d for d in documents if d["win_rate"] is not None]
    if not decided:
        _no_data(ax, "no win rate against iteration 0: no duel got a valid verdict")
        _save(fig, out_png)
        return
    models = sorted({d["model"] for d in documents})
    width = 0.6 / len(models)
    for k, model in enumerate(models):
        rows = sorted((d for d in decided if d["model"] == model), key=lambda d: d["iteration"])
        x = np.array([d["iteration"] for d in rows]) + (k - (len(models) - 1) / 2) * width
        rate = np.array([d["win_rate"] for d in rows])
        spread = np.array([[r - d["ci_low"], d["ci_high"] - r] for r, d in zip(rate, rows, strict=True)]).T
        ax.errorbar(x, rate, yerr=spread, marker="o", capsize=3, linestyle="-", label=model)
    ax.axhline(0.5, color="black", linestyle="--", linewidth=0.8)
    ax.set_ylim(0.0, 1.0)
    ax.set_xticks(sorted({d["iteration"] for d in documents}))
    ax.set_xlabel("iteration (after i trainings)")
    ax.set_ylabel("win rate against iteration 0")
    judges = ", ".join(sorted({d["judge"] for d in documents}))
    ci = documents[0]["ci"]
    ax.set_title(f"win rate against the iteration-0 self, judged by {judges} ({ci:.0%} Wilson intervals)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, out_png)


def write_win_rate_vs_base_plot(document_paths: Sequence[str | Path], out_png: str | Path) -> None:
    documents = [read_document(p, WIN_RATE_VS_BASE) for p in document_paths]
    plot_win_rate_vs_base(documents, out_png)
    logger.info("plotted %d win rates against the iteration-0 selves", len(documents))


# --- the tournament of every checkpoint ---------------------------------------------------------------------------


def plot_tournament(ratings: pd.DataFrame, shares: pd.DataFrame, summary: dict, out_png: str | Path) -> None:
    """The tournament: each checkpoint's Bradley-Terry rating with its interval, per member across iterations, beside
    the win matrix (row checkpoint's share of decided duels against the column's, a tie half).

    ``ratings`` has the columns of tournament/ratings.tsv, ``shares`` is tournament/win_matrix.tsv (checkpoints as
    index and columns), ``summary`` tournament/summary.json.
    """
    from matplotlib import colormaps

    n = len(shares)
    fig = _figure(6 + 0.35 * n, 4.2 + 0.12 * n)
    ax_ratings, ax_matrix = fig.subplots(1, 2, width_ratios=[2, 3])
    members = list(dict.fromkeys(ratings["model"]))
    width = 0.5 / max(len(members), 1)
    for k, (model, rows) in enumerate(ratings.groupby("model", sort=False)):
        rows = rows.sort_values("iteration")
        x = rows["iteration"].to_numpy() + (k - (len(members) - 1) / 2) * width
        rating = rows["rating"].to_numpy(dtype=float)
        low, high = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
        spread = None if np.isnan(low).all() else np.vstack([rating - low, high - rating])
        ax_ratings.errorbar(x, rating, yerr=spread, marker="o", capsize=3, label=model)
    ax_ratings.set_xticks(sorted(ratings["iteration"].unique()))
    ax_ratings.set_xlabel("iteration of the checkpoint (0: initial model)")
    ax_ratings.set_ylabel("Bradley-Terry rating")
    ci = summary["rating"]["params"].get("ci")
    interval = f"{ci:.0%} intervals" if ci is not None else "intervals"
    ax_ratings.set_title(f"every checkpoint, one round robin ({interval})", fontsize=10)
    ax_ratings.grid(alpha=0.3)
    ax_ratings.legend(fontsize=8)

    values = shares.to_numpy(dtype=float)
    image = ax_matrix.imshow(
        np.ma.masked_invalid(values), cmap=colormaps["RdBu"].with_extremes(bad="0.9"), vmin=0, vmax=1
    )
    if n <= 20:  # beyond that the labels overlap; the colours still tell
        for (r, c), value in np.ndenumerate(values):
            if not np.isnan(value):
                colour = "white" if abs(value - 0.5) > 0.35 else "black"
                ax_matrix.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=6, color=colour)
    ax_matrix.set_xticks(range(n), list(shares.columns), rotation=60, ha="right", fontsize=7)
    ax_matrix.set_yticks(range(n), list(shares.index), fontsize=7)
    cyclic = summary["cyclic_triad_share"]
    flow = summary["nontransitive_share"]
    ax_matrix.set_title(
        f"judged by {summary['judge']} on {summary['prompts']} prompts; cyclic triads "
        f"{'-' if cyclic is None else f'{cyclic:.3f}'} ({summary['cyclic_triads']} of {summary['decided_triads']}), "
        f"non-transitive share {'-' if flow is None else f'{flow:.3f}'}",
        fontsize=9,
    )
    fig.colorbar(image, ax=ax_matrix, shrink=0.7, label="row's win rate against column")
    _save(fig, out_png)


def write_tournament_plot(
    ratings_path: str | Path, matrix_path: str | Path, summary_path: str | Path, out_png: str | Path
) -> None:
    ratings = pd.read_csv(ratings_path, sep="\t")
    shares = pd.read_csv(matrix_path, sep="\t", index_col="checkpoint")
    plot_tournament(ratings, shares, read_document(summary_path, TOURNAMENT), out_png)
    logger.info("plotted the tournament of %d checkpoints", len(shares))


# --- training curves --------------------------------------------------------------------------------------------


def training_log(metrics: dict) -> pd.DataFrame:
    """Per logged step: loss and reward margin of one adapter's training (train_metrics.json).

    The margin is TRL's ``rewards/margins`` (beta times the chosen-minus-rejected log-ratio) where the loss
    logs it; the SPPO loss logs the log-ratios themselves, so their difference stands in. A skipped training
    has no rows. TRL's closing summary row (``train_loss``, no ``loss``) is not a step.
    """
    rows = []
    for entry in metrics.get("log") or []:
        if "loss" not in entry:
            continue
        if "rewards/margins" in entry:
            margin = entry["rewards/margins"]
        elif "logratios/chosen" in entry and "logratios/rejected" in entry:
            margin = entry["logratios/chosen"] - entry["logratios/rejected"]
        else:
            margin = None
        rows.append({"step": entry["step"], "loss": entry["loss"], "margin": margin})
    return pd.DataFrame(rows, columns=["step", "loss", "margin"], dtype=float)


def plot_training_curves(logs: Sequence[tuple[int, str, pd.DataFrame]], out_png: str | Path) -> None:
    """Loss and reward margin per step of every (iteration, model, log), iterations one after another.

    Each iteration's steps are placed after the longest training of the iteration before, so a model's curve
    runs left to right through the iterations; dotted lines mark where an iteration begins.
    """
    from matplotlib.ticker import MaxNLocator

    fig = _figure(10, 6)
    ax_loss, ax_margin = fig.subplots(2, 1, sharex=True)
    iterations = sorted({iteration for iteration, _, _ in logs})
    offsets, start = {}, 0.0
    for iteration in iterations:
        offsets[iteration] = start
        steps = [log["step"].max() for i, _, log in logs if i == iteration and not log.empty]
        start += max(steps, default=0.0) or 1.0
    colours = {}
    for iteration, model, log in sorted(logs, key=lambda item: (item[1], item[0])):
        if log.empty:
            continue
        colour = colours.setdefault(model, f"C{len(colours)}")
        label = model if iteration == min(i for i, m, lg in logs if m == model and not lg.empty) else None
        x = log["step"] + offsets[iteration]
        ax_loss.plot(x, log["loss"], color=colour, marker=".", label=label)
        ax_margin.plot(x, log["margin"], color=colour, marker=".")
    for ax in (ax_loss, ax_margin):
        for iteration in iterations[1:]:
            ax.axvline(offsets[iteration] + 0.5, color="0.6", linestyle=":", linewidth=1)
        ax.grid(alpha=0.3)
    if not colours:
        _no_data(ax_loss, "no training steps (every training skipped)")
    else:
        ax_loss.legend(fontsize=8)
    ax_margin.axhline(0, color="black", linewidth=0.8)
    ax_margin.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.set_ylabel("training loss")
    ax_margin.set_ylabel("reward margin")
    ax_margin.set_xlabel("step, iterations one after another (dotted: next iteration)")
    ax_loss.set_title("training curves per model; margin: chosen minus rejected implicit reward", fontsize=10)
    _save(fig, out_png)


def write_training_plot(adapters: Sequence[tuple[int, str, str | Path]], out_png: str | Path) -> None:
    """``adapters``: (iteration, model, adapter directory holding train_metrics.json)."""
    logs = [(i, m, training_log(read_json(Path(d) / "train_metrics.json"))) for i, m, d in adapters]
    plot_training_curves(logs, out_png)
    logger.info("plotted training curves of %d adapters", len(logs))


# --- pair statistics --------------------------------------------------------------------------------------------

# Shares of the pair statistics document drawn as lines, where a checker knew which answers were correct.
SHARES = {
    "chosen_correct": "chosen answer correct",
    "rejected_correct": "rejected answer correct",
    "inverted": "inverted (rejected correct, chosen wrong)",
    "both_wrong": "both answers wrong",
}
# Its protocol extras drawn beside them: the chosen and rejected sides' scores, whose difference is the margin.
EXTRA_SHARES = {
    "mean_chosen_win_rate": "mean win rate of chosen",
    "mean_rejected_win_rate": "mean win rate of rejected",
    "mean_chosen_favour": "judge's favour after chosen speech",
    "mean_rejected_favour": "judge's favour after rejected speech",
}


def pair_counts(stats: dict) -> dict[str, float]:
    """How many pairs an iteration made and, by reason, how many candidates made none."""
    return {"pairs": float(stats["pairs"])} | {f"no pair: {k}": float(v) for k, v in stats["dropped"].items()}


def plot_pair_stats(stats: Sequence[dict], out_png: str | Path) -> None:
    """Per iteration (``stats[i]`` is iteration i's pairs/stats.json): how many pairs and why some comparisons
    made none; how often the chosen answer was right; the mean margin."""
    fig = _figure(12, 3.8)
    ax_counts, ax_shares, ax_margin = fig.subplots(1, 3)
    iterations = np.arange(len(stats))
    counts = [pair_counts(s) for s in stats]
    names = list(dict.fromkeys(name for c in counts for name in c))
    bottom = np.zeros(len(stats))
    for name in names:
        values = np.array([c.get(name, 0.0) for c in counts])
        if name != "pairs" and not values.any():
            continue
        ax_counts.bar(iterations, values, bottom=bottom, label=name)
        bottom += values
    ax_counts.set_title("pairs, and comparisons that made none", fontsize=10)
    ax_counts.legend(fontsize=7)
    shares = [{**{k: s[k] for k in SHARES}, **{k: s["extras"].get(k) for k in EXTRA_SHARES}} for s in stats]
    labels = SHARES | EXTRA_SHARES
    shown = [key for key in labels if any(s[key] is not None for s in shares)]
    for key in shown:
        values = [np.nan if s[key] is None else s[key] for s in shares]
        ax_shares.plot(iterations, values, marker="o", label=labels[key])
    if shown:
        ax_shares.set_ylim(-0.02, 1.02)
        ax_shares.legend(fontsize=7)
    else:
        _no_data(ax_shares, "no shares in the pair statistics")
    ax_shares.set_title("what the pairs hold", fontsize=10)
    margins = [np.nan if s["mean_margin"] is None else s["mean_margin"] for s in stats]
    ax_margin.bar(iterations, margins, color="tab:purple")
    ax_margin.set_title("mean margin of the pairs", fontsize=10)
    for ax in (ax_counts, ax_shares, ax_margin):
        ax.set_xticks(iterations)
        ax.set_xlabel("iteration")
    _save(fig, out_png)


def write_pair_stats_plot(stats_paths: Sequence[str | Path], out_png: str | Path) -> None:
    plot_pair_stats([read_document(p, PAIR_STATS) for p in stats_paths], out_png)
    logger.info("plotted pair statistics of %d iterations", len(stats_paths))
