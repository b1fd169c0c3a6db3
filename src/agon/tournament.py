"""The tournament: every checkpoint of a run in one round robin on held-out prompts, once the run is done.

It answers what every user of iterative alignment asks: did the last iteration really beat the first, head to head,
and is the order of the checkpoints a ranking at all. A checkpoint is a member as one iteration uses it
(``ada@iter_2``, ``agon.plan.checkpoint_name``; iteration 0 is the initial model). Each answered the held-out prompts
greedily in its evaluate job; every two checkpoints meet on each of the first ``prompts`` of them, judged by the
tournament's judge with the judge stage's own code (``agon.evaluation.Panel``): no new model code, and a member
never judges a duel of one of its own checkpoints. Two equal answers are a tie without a verdict.

From the verdicts: Bradley-Terry ratings of every checkpoint with intervals (``agon.ratings.fit_bradley_terry``),
the win matrix (the row's share of their decided duels, a tie half), each member's last checkpoint against its first
(Wilson interval), and two measures of intransitivity:

- the share of cyclic triads: among the triples of checkpoints whose three majority relations are all decided
  (a share above or below one half), those where each beats exactly one of the other two;
- the non-transitive share of the win matrix by a Hodge decomposition (HodgeRank): the flow
  ``Y_ij = logit((wins_ij + ties_ij / 2 + 0.5) / (decided_ij + 1))`` on the pairs that played, potentials ``s``
  fitted by least squares weighted by the pair's decided duels ``w_ij``, and ``sum w r^2 / sum w Y^2`` for the
  residual ``r_ij = Y_ij - (s_i - s_j)``: 0 when the matrix is a ranking, 1 for rock-paper-scissors.

docs/tournament.md shows both on a real run.
"""

import logging
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from agon.contracts import GENERATIONS, MATCHES, PROMPTS, TOURNAMENT, read_table, write_document
from agon.evaluation import Panel, win_rate
from agon.files import atomic_file
from agon.judging import duels_frame
from agon.plan import checkpoint_name
from agon.ratings import BradleyTerryConfig, fit_bradley_terry
from agon.report import win_matrix

logger = logging.getLogger(__name__)


def tournament_matches(heldout: pd.DataFrame, checkpoints: Sequence[str]) -> pd.DataFrame:
    """Every two checkpoints (the first in ``checkpoints`` order as A) on every prompt of ``heldout``, in the
    matches contract; match ids ``<a>/<b>/<prompt_id>``."""
    prompts = heldout[["prompt_id", "prompt", "reference"]].to_dict("records")
    rows = [
        {**p, "match_id": f"{a}/{b}/{p['prompt_id']}", "round": 0, "model_a": a, "model_b": b}
        for a, b in combinations(checkpoints, 2)
        for p in prompts
    ]
    return pd.DataFrame(rows, columns=MATCHES.columns)


def win_shares(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    """The row's share of its decided duels against the column (``agon.report.win_matrix``'s wins, a tie half, over
    its games); NaN where the two decided none."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(games > 0, wins / games, np.nan)


def cyclic_triads(wins: np.ndarray, games: np.ndarray) -> tuple[int, int]:
    """(triads whose three majority relations are all decided, the cyclic ones among them).

    A relation is decided when one side won more than half of the pair's decided duels; a triad is cyclic when
    each of its checkpoints beats exactly one of the other two (a beats b, b beats c, c beats a).
    """
    shares = win_shares(wins, games)
    beats = np.nan_to_num(shares, nan=0.5) > 0.5
    decided = beats | beats.T
    triads = cyclic = 0
    for i, j, k in combinations(range(len(wins)), 3):
        if decided[i, j] and decided[j, k] and decided[i, k]:
            triads += 1
            # Around the cycle i -> j -> k -> i: all three forward (or none, the reverse cycle) is a cycle; one or
            # two forward is an order.
            cyclic += int(beats[i, j]) + int(beats[j, k]) + int(beats[k, i]) in (0, 3)
    return triads, cyclic


def nontransitive_share(wins: np.ndarray, games: np.ndarray) -> float | None:
    """The share of the win matrix's weighted flow that no ranking explains (HodgeRank's cyclic part), or None when
    no pair played or every played pair is even.

    Hand-written on numpy: no well-kept library ships HodgeRank, scipy is not a dependency, and the problem is one
    weighted least-squares fit over a few hundred pairs at most. ``wins`` counts a tie as half a win
    (``agon.report.win_matrix``), so ``(wins + 0.5) / (games + 1)`` is the smoothed win rate of the module doc;
    the smoothing keeps a pair that one side swept finite.
    """
    i, j = np.triu_indices(len(wins), k=1)
    played = games[i, j] > 0
    i, j = i[played], j[played]
    if not len(i):
        return None
    w = games[i, j]
    p = (wins[i, j] + 0.5) / (w + 1)
    y = np.log(p / (1 - p))
    # The gradient of potentials s on each pair, s_i - s_j; weighting rows by sqrt(w) makes least squares weighted.
    gradient = np.zeros((len(i), len(wins)))
    gradient[np.arange(len(i)), i] = 1.0
    gradient[np.arange(len(i)), j] = -1.0
    root = np.sqrt(w)
    # Potentials are defined up to a constant per connected group: lstsq's minimum-norm solution picks one.
    s = np.linalg.lstsq(gradient * root[:, None], y * root, rcond=None)[0]
    residual = y - gradient @ s
    total = float(np.sum(w * y**2))
    return float(np.sum(w * residual**2) / total) if total > 0 else None


def head_to_head(verdicts: pd.DataFrame, first: str, last: str) -> dict:
    """``last``'s record against ``first`` on their duels (``d`` from ``last``'s side), as ``agon.evaluation.
    win_rate`` counts it: wins, ties, losses, undecided, win rate and Wilson interval."""
    a, b, d = verdicts["model_a"], verdicts["model_b"], verdicts["d"].to_numpy(dtype=float)
    forward = ((a == last) & (b == first)).to_numpy()
    backward = ((a == first) & (b == last)).to_numpy()
    return {"first": first, "last": last, **win_rate(np.concatenate([d[forward], -d[backward]]))}


def ratings_table(document: dict, checkpoints: Sequence[tuple[str, int]]) -> pd.DataFrame:
    """One row per checkpoint of a Bradley-Terry document: checkpoint, model, iteration, rating, uncertainty,
    ci_low, ci_high, matches."""
    keys = ("rating", "uncertainty", "ci_low", "ci_high", "matches")
    rows = []
    for model, i in checkpoints:
        name = checkpoint_name(model, i)
        entry = document["models"][name]
        rows.append({"checkpoint": name, "model": model, "iteration": i} | {k: entry[k] for k in keys})
    return pd.DataFrame(rows)


def write_tournament(
    heldout_path: str | Path,
    answer_paths: Sequence[str | Path],
    checkpoints: Sequence[tuple[str, int]],
    out: Mapping[str, str | Path],
    *,
    prompts: int,
    panel: Panel,
    rating: BradleyTerryConfig,
    seed: int,
    threads: int = 1,
) -> dict:
    """Play the round robin of ``checkpoints`` ((member, iteration), their greedy held-out answers at
    ``answer_paths`` in the same order) on the first ``prompts`` held-out prompts and write ``out``'s files:
    ``judgments`` (every verdict), ``ratings`` (TSV), ``win_matrix`` (TSV) and ``summary`` (``TOURNAMENT``)."""
    torch.set_num_threads(threads)
    if len(answer_paths) != len(checkpoints):
        raise ValueError(f"tournament: {len(answer_paths)} answer files for {len(checkpoints)} checkpoints")
    names = [checkpoint_name(m, i) for m, i in checkpoints]
    heldout = read_table(heldout_path, PROMPTS).head(prompts)
    matches = tournament_matches(heldout, names)
    answers = [read_table(path, GENERATIONS).assign(model=name) for name, path in zip(names, answer_paths, strict=True)]
    duels = duels_frame(matches, pd.concat(answers, ignore_index=True))
    logger.info("tournament of %d checkpoints on %d prompts: %d duels", len(names), len(heldout), len(duels))
    verdicts = panel.play(matches, duels, out["judgments"])
    identical = verdicts["identical"].to_numpy()
    logger.info("%d duels with equal answers: ties without a verdict", identical.sum())

    document = fit_bradley_terry(verdicts, None, names, rating, seed=seed)
    with atomic_file(out["ratings"]) as tmp:
        ratings_table(document, checkpoints).to_csv(tmp, sep="\t", index=False)
    wins, games = win_matrix(verdicts, names)
    with atomic_file(out["win_matrix"]) as tmp:
        shares = pd.DataFrame(win_shares(wins, games), index=pd.Index(names, name="checkpoint"), columns=names)
        shares.to_csv(tmp, sep="\t", float_format="%.4f")

    last = max(i for _, i in checkpoints)
    members = list(dict.fromkeys(m for m, _ in checkpoints))
    records = {m: head_to_head(verdicts, checkpoint_name(m, 0), checkpoint_name(m, last)) for m in members if last > 0}
    triads, cyclic = cyclic_triads(wins, games)
    undecided = int(verdicts["d"].isna().sum())
    summary = {
        "judge": panel.judge,
        "jurors": list(panel.jurors),
        "checkpoints": names,
        "prompts": len(heldout),
        "duels": len(duels),
        "identical": int(identical.sum()),
        "judged": int((~identical).sum()),
        "undecided": undecided,
        "rating": {"scheme": "bradley_terry", "params": document["params"]},
        "head_to_head": records,
        "decided_triads": triads,
        "cyclic_triads": cyclic,
        "cyclic_triad_share": cyclic / triads if triads else None,
        "nontransitive_share": nontransitive_share(wins, games),
    }
    write_document(summary, out["summary"], TOURNAMENT)
    for m, record in records.items():
        shown = "none decided" if record["win_rate"] is None else f"{record['win_rate']:.3f}"
        logger.info(
            "%s: last checkpoint against first, win rate %s (%d wins, %d ties, %d losses)",
            m,
            shown,
            record["wins"],
            record["ties"],
            record["losses"],
        )
    logger.info(
        "intransitivity: %d of %d decided triads cyclic; non-transitive share %s; %d duels undecided",
        cyclic,
        triads,
        summary["nontransitive_share"],
        undecided,
    )
    return summary
