"""The judge audit: how far each judge of an iteration can be trusted, and how it fails when it cannot.

Ratings and preference pairs inherit every bias of the judges, so each iteration reports per juror (key
``"method/juror"``) and per method (key ``"method/*"``, all its jurors pooled):

- ``judgments``, ``duels`` (judge-duel pairs with any row) and ``parse_failure_rate``: the share of rows whose
  ``valid`` is not True. Only valid rows with a preference count anywhere else.
- ``order_flip_rate``: over ``two_order_duels`` (valid verdicts in both orders), the share with
  ``sign(pref_ab) != sign(pref_ba)``, 0 counting as its own sign, so a change from or to a tie is a flip.
- ``first_position_rate``: over the non-tie rows of those same two-order duels, the share that favour the answer
  shown first (``"ab"`` with preference > 0, ``"ba"`` with preference < 0); 0.5 means no position bias. Only
  two-order duels count: with both orders of a duel each answer is shown first once, so answer quality cancels
  and only the position remains. A judge that writes a single order (a pointwise reward model) gets None for both.
- ``length_bias``: the Pearson correlation between a duel's verdict (the judge's mean valid preference over its
  orders) and ``len(answer_a) - len(answer_b)`` in characters (sample-0 answers); None when either is constant.
- ``same_family_rate``: over ``same_family_duels`` (the judge has a family, is no duellist, and exactly one
  duellist shares its family), the share of non-tie verdicts that favour that duellist; 0.5 means no kin bias.
- ``self_rate``: over ``self_duels`` (the judge is a duellist), the share of non-tie verdicts that favour itself.
- ``verifier_agreement`` and ``verifier_coverage``: over ``one_correct_duels`` (the judge's duels where the
  method "verifier" gave a non-zero verdict: exactly one answer is right), coverage is the share the judge decided
  (a non-tie verdict; an invalid or tied one is an abstention) and agreement the share of decided ones with the
  verifier's sign. Both None without verifier judgments.
- ``agreement[x][y]``: over the duels on which a judge of x and a different judge of y both decided, the share
  with the same sign. Symmetric; None on an individual judge's diagonal, and for ``"peer/*"`` with itself the
  agreement between distinct peers.

A pooled key counts judge-duel pairs as its units, so a method's rates weigh its judges by how much they judged.
Rates with nothing to count are None (never NaN), so the result is strict JSON.
"""

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import DUELS, JUDGMENTS, MATCHES, read_table, read_tables
from agon.files import atomic_file, write_json
from agon.judging.protocol import ORDERS

logger = logging.getLogger(__name__)

POOLED = "*"
# (count column summed per key, numerator column, output name) of every rate.
RATES = (
    ("rows", "failed", "parse_failure_rate"),
    ("two_order", "flipped", "order_flip_rate"),
    ("shown_decided", "shown_first_won", "first_position_rate"),
    ("kin_decided", "kin_won", "same_family_rate"),
    ("self_decided", "self_won", "self_rate"),
    ("one_correct_decided", "verifier_agreed", "verifier_agreement"),
    ("one_correct", "one_correct_decided", "verifier_coverage"),
)
COUNTS = {
    "judgments": "rows",
    "duels": "duel",
    "two_order_duels": "two_order",
    "same_family_duels": "kin_duel",
    "self_duels": "self_duel",
    "one_correct_duels": "one_correct",
}
# Plotted metrics: (field, label, ideal value, largest possible distance from it); colour is the distance.
PLOTTED = (
    ("parse_failure_rate", "parse\nfailures", 0.0, 1.0),
    ("order_flip_rate", "order\nflips", 0.0, 1.0),
    ("first_position_rate", "first\nposition", 0.5, 0.5),
    ("length_bias", "length\nbias", 0.0, 1.0),
    ("same_family_rate", "same\nfamily", 0.5, 0.5),
    ("self_rate", "self", 0.5, 0.5),
    ("verifier_agreement", "verifier\nagreement", 1.0, 1.0),
    ("verifier_coverage", "verifier\ncoverage", 1.0, 1.0),
)


def _method(key: str) -> str:
    return key.split("/", 1)[0]


def _pooled(key: str) -> str:
    """The key pooling all judges of ``key``'s method."""
    return f"{_method(key)}/{POOLED}"


def _check(matches: pd.DataFrame, judgments: pd.DataFrame) -> None:
    """Fail naming the offending rows: a repeated or stray row would silently skew every rate."""
    if matches["match_id"].duplicated().any():
        repeated = matches.loc[matches["match_id"].duplicated(), "match_id"].unique()[:3].tolist()
        raise ValueError(f"matches: match_id must be unique; repeated: {repeated}")
    # isin, not Python sets: iterating a million Arrow-backed strings takes seconds.
    unknown = sorted(judgments.loc[~judgments["match_id"].isin(matches["match_id"]), "match_id"].unique())
    if unknown:
        raise ValueError(f"judgments name {len(unknown)} match(es) missing from the matches table, e.g. {unknown[:3]}")
    orders = sorted(judgments.loc[~judgments["order"].isin(ORDERS), "order"].unique())
    if orders:
        raise ValueError(f"judgments: unknown order(s) {orders}; expected one of {ORDERS}")
    repeated = judgments.duplicated(["match_id", "method", "judge", "order"])
    if repeated.any():
        first = judgments.loc[repeated].iloc[0]
        raise ValueError(
            f"judgments: {int(repeated.sum())} repeated (match, judge, order) row(s), e.g. judge {first['judge']} "
            f"on match {first['match_id']} in order {first['order']}; was a judgment file read twice?"
        )


def _units(
    matches: pd.DataFrame, duels: pd.DataFrame, judgments: pd.DataFrame, family_of: Mapping[str, str]
) -> pd.DataFrame:
    """One row per judge and duel it judged, with the 0/1 columns that the rates sum."""
    rows = judgments.assign(key=judgments["method"] + "/" + judgments["judge"], failed=~judgments["valid"].eq(True))
    usable = rows.loc[~rows["failed"] & rows["preference"].notna()]
    per_order = (
        usable.set_index(["key", "match_id", "order"])["preference"]
        .unstack("order")
        .reindex(columns=list(ORDERS))
        .rename(columns={order: f"p_{order}" for order in ORDERS})
    )
    units = (
        rows.groupby(["key", "match_id"])
        .agg(method=("method", "first"), judge=("judge", "first"), rows=("failed", "size"), failed=("failed", "sum"))
        .join(per_order)
        .reset_index()
    )
    duels = duels.copy()
    duels["length_gap"] = duels["answer_a"].str.len() - duels["answer_b"].str.len()
    truth = usable.loc[usable["method"] == "verifier"].groupby("match_id")["preference"].mean()
    units = units.merge(duels[["match_id", "model_a", "model_b", "length_gap"]], on="match_id", how="left")

    p_ab, p_ba = units["p_ab"], units["p_ba"]
    units["verdict"] = units[["p_ab", "p_ba"]].mean(axis=1)
    sign = np.sign(units["verdict"])
    decided = sign.notna() & sign.ne(0)
    two_order = p_ab.notna() & p_ba.notna()

    families = dict(family_of)
    family = units["judge"].map(families)
    kin_a = family.notna() & units["model_a"].map(families).eq(family)
    kin_b = family.notna() & units["model_b"].map(families).eq(family)
    self_a, self_b = units["judge"].eq(units["model_a"]), units["judge"].eq(units["model_b"])
    kin_duel = ~(self_a | self_b) & (kin_a != kin_b)
    truth_sign = np.sign(units["match_id"].map(truth))
    one_correct = truth_sign.notna() & truth_sign.ne(0)
    return units.assign(
        duel=1,
        two_order=two_order,
        flipped=two_order & np.sign(p_ab).ne(np.sign(p_ba)),
        shown_decided=two_order * (p_ab.ne(0).astype(int) + p_ba.ne(0).astype(int)),
        shown_first_won=two_order * (p_ab.gt(0).astype(int) + p_ba.lt(0).astype(int)),
        kin_duel=kin_duel,
        kin_decided=kin_duel & decided,
        kin_won=kin_duel & decided & sign.eq(np.where(kin_a, 1.0, -1.0)),
        self_duel=self_a | self_b,
        self_decided=(self_a | self_b) & decided,
        self_won=(self_a | self_b) & decided & sign.eq(np.where(self_a, 1.0, -1.0)),
        one_correct=one_correct,
        one_correct_decided=one_correct & decided,
        verifier_agreed=one_correct & decided & sign.eq(truth_sign),
        sign=sign.where(decided, 0.0),
    )


def _pearson(units: pd.DataFrame, x: str, y: str) -> pd.Series:
    """Pearson's r of ``x`` and ``y`` per key; NaN where either is constant (or a key has one unit)."""
    groups = units.groupby("key")
    dx = units[x] - groups[x].transform("mean")
    dy = units[y] - groups[y].transform("mean")
    sums = pd.DataFrame({"key": units["key"], "xy": dx * dy, "xx": dx * dx, "yy": dy * dy}).groupby("key").sum()
    # nunique, not a zero variance: the mean of equal floats need not equal them, so their variance need not be 0.
    varies = (groups[x].nunique() > 1) & (groups[y].nunique() > 1)
    r = (sums["xy"] / np.sqrt(sums["xx"] * sums["yy"])).clip(-1.0, 1.0)
    return r.where(varies)


def _agreement(units: pd.DataFrame, judges: list[str], keys: list[str]) -> np.ndarray:
    """Share of same-sign verdicts for every two keys, NaN where no two distinct judges both decided a duel."""
    decided = units.loc[units["sign"].ne(0)]
    duel = pd.factorize(decided["match_id"])[0]
    judge = pd.Index(judges).get_indexer(decided["key"])
    favour_a = np.zeros((duel.max(initial=-1) + 1, len(judges)))
    favour_b = np.zeros_like(favour_a)
    favour_a[duel, judge] = decided["sign"].to_numpy() > 0
    favour_b[duel, judge] = decided["sign"].to_numpy() < 0
    # Judge x judge counts of duels both decided and of those they agree on; a judge is not compared with itself.
    agreed = favour_a.T @ favour_a + favour_b.T @ favour_b
    shared = (favour_a + favour_b).T @ (favour_a + favour_b)
    np.fill_diagonal(agreed, 0)
    np.fill_diagonal(shared, 0)
    members = np.zeros((len(judges), len(keys)))
    members[np.arange(len(judges)), pd.Index(keys).get_indexer(judges)] = 1
    members[np.arange(len(judges)), pd.Index(keys).get_indexer([_pooled(key) for key in judges])] = 1
    agreed, shared = members.T @ agreed @ members, members.T @ shared @ members
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(shared > 0, agreed / shared, np.nan)


def _json_number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def audit_judges(
    matches: pd.DataFrame, duels: pd.DataFrame, judgments: pd.DataFrame, family_of: Mapping[str, str]
) -> dict:
    """The audit of every judge in ``judgments`` (all judges' tables, the verifier's included if any).

    ``family_of`` maps population members and judges to a family; a judge outside it has no family. Returns a
    JSON-ready dict ``{"judges": {key: metrics}, "agreement": {key: {key: rate}}, "duels": n}`` (see the module
    docstring for the metrics), keys grouped by method with each method's pooled key after its judges.
    """
    _check(matches, judgments)
    if judgments.empty:
        return {"judges": {}, "agreement": {}, "duels": len(matches)}
    units = _units(matches, duels, judgments, family_of)
    judges = sorted(units["key"].unique())
    keys = sorted(
        [*judges, *{_pooled(key) for key in judges}], key=lambda key: (_method(key), key == _pooled(key), key)
    )
    both = pd.concat([units, units.assign(key=units["method"] + "/" + POOLED)], ignore_index=True)
    summed = sorted({*COUNTS.values(), *(c for count, num, _ in RATES for c in (count, num))})
    sums = both.groupby("key")[summed].sum().join(both.groupby("key")["judge"].nunique().rename("judges"))
    length_bias = _pearson(both.loc[both["verdict"].notna()], "verdict", "length_gap").reindex(sums.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = pd.DataFrame({name: sums[num] / sums[count] for count, num, name in RATES})
    agreement = _agreement(units, judges, keys)

    report = {}
    for key in keys:
        method, judge = key.split("/", 1)
        report[key] = {
            "method": method,
            "judge": judge,
            "judges": int(sums.at[key, "judges"]),
            **{name: int(sums.at[key, column]) for name, column in COUNTS.items()},
            **{name: _json_number(rates.at[key, name]) for name in rates.columns},
            "length_bias": _json_number(length_bias.at[key]),
        }
    return {
        "judges": report,
        "agreement": {x: {y: _json_number(agreement[i, j]) for j, y in enumerate(keys)} for i, x in enumerate(keys)},
        "duels": len(matches),
    }


def _grid(rows: list[list[float | None]], columns: int) -> np.ndarray:
    """A float matrix of JSON values, NaN for None (drawn as not applicable)."""
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float).reshape(-1, columns)


def plot_audit(audit: dict, out_png: str | Path) -> None:
    """The metrics of every judge (coloured by their distance from the ideal) beside the agreement matrix."""
    # The object-oriented API on an Agg canvas: no pyplot state, no display needed.
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keys = list(audit["judges"])
    fig = Figure(figsize=(8 + 0.6 * len(keys), 2.5 + 0.4 * len(keys)), layout="constrained")
    FigureCanvasAgg(fig)
    if not keys:
        # An iteration whose judges wrote no rows still gets its plot, saying so, so the report has no hole.
        fig.text(0.5, 0.5, f"no judgments on the {audit['duels']} duels", ha="center", va="center")
    else:
        ax_metrics, ax_agreement = fig.subplots(1, 2, width_ratios=[len(PLOTTED), len(keys)])
        values = _grid([[audit["judges"][k][field] for field, *_ in PLOTTED] for k in keys], len(PLOTTED))
        ideal, spread = np.array([entry[2] for entry in PLOTTED]), np.array([entry[3] for entry in PLOTTED])
        distance = np.abs(values - ideal) / spread
        ax_metrics.imshow(
            np.ma.masked_invalid(distance),
            cmap=colormaps["Reds"].with_extremes(bad="0.9"),
            vmin=0,
            vmax=1,
            aspect="auto",
        )
        for (r, c), value in np.ndenumerate(values):
            label = "-" if np.isnan(value) else f"{value:.2f}"
            colour = "white" if distance[r, c] > 0.6 else "black"
            ax_metrics.text(c, r, label, ha="center", va="center", fontsize=8, color=colour)
        ax_metrics.set_xticks(range(len(PLOTTED)), [entry[1] for entry in PLOTTED], fontsize=8)
        ax_metrics.xaxis.tick_top()
        ax_metrics.set_yticks(range(len(keys)), keys)
        ax_metrics.set_title("judge metrics (darker: further from ideal; -: not applicable)", fontsize=10)

        agreement = _grid([[audit["agreement"][x][y] for y in keys] for x in keys], len(keys))
        image = ax_agreement.imshow(
            np.ma.masked_invalid(agreement), cmap=colormaps["RdYlGn"].with_extremes(bad="0.9"), vmin=0, vmax=1
        )
        for (r, c), value in np.ndenumerate(agreement):
            label = "-" if np.isnan(value) else f"{value:.2f}"
            ax_agreement.text(c, r, label, ha="center", va="center", fontsize=7)
        ax_agreement.set_xticks(range(len(keys)), keys, rotation=45, ha="right")
        ax_agreement.set_yticks(range(len(keys)), keys)
        ax_agreement.set_title(
            f"agreement: same-sign share of duels both decided ({audit['duels']} duels)", fontsize=10
        )
        fig.colorbar(image, ax=ax_agreement, shrink=0.8)
    with atomic_file(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def write_audit(
    matches_path: str | Path,
    judgment_paths: list[str | Path],
    out_json: str | Path,
    out_png: str | Path,
    family_of: Mapping[str, str],
    *,
    generation_paths: list[str | Path] = (),
    duels_path: str | Path | None = None,
) -> dict:
    """Audit one iteration's judges from its files; write the audit (JSON) and its plot (PNG).

    The duels judged come from the matches and the generations (tribe, selfplay) or, where a protocol writes
    what its judges read, from ``duels_path`` (debate: the transcripts; only the matches' own rows count).
    """
    # agon.judging imports this module, so its readers are looked up only when needed.
    from agon.judging import read_duels

    if not judgment_paths or not (generation_paths or duels_path):
        raise ValueError("write_audit: an audit needs the iteration's judgment files and its generations or duels")
    matches = read_table(matches_path, MATCHES)
    if duels_path is not None:
        duels = read_table(duels_path, DUELS)
        duels = duels[duels["match_id"].isin(matches["match_id"])]
    else:
        duels = read_duels(matches_path, list(generation_paths))
    judgments = read_tables(judgment_paths, JUDGMENTS)
    audit = audit_judges(matches, duels, judgments, family_of)
    write_json(audit, out_json)
    plot_audit(audit, out_png)
    logger.info(
        "audited %d judge(s) on %d duels", sum(k["judge"] != POOLED for k in audit["judges"].values()), audit["duels"]
    )
    return audit
