"""Preference pairs from judged duels: the winner's answer is chosen, the loser's rejected.

The verdict of a duel is the reputation-weighted aggregate ``d`` of its judges (ratings.verdicts). A pair is
made when ``|d|`` exceeds the margin; ties, duels without a valid verdict and identical answers make none.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import GENERATIONS, JUDGMENTS, MATCHES, PAIRS, read_table, read_tables, write_table
from agon.files import read_json, write_json
from agon.ratings.verdicts import duel_verdicts
from agon.tasks import checker

TRAIN_ON = ("all", "own")


@dataclass(frozen=True)
class PairsConfig:
    margin: float = 0.0
    min_judges: int = 1
    train_on: str = "all"  # all: every model trains on every pair (as SPARTA); own: only its own duels

    def __post_init__(self) -> None:
        if self.train_on not in TRAIN_ON:
            raise ValueError(f"pairs.train_on must be one of {TRAIN_ON}, got {self.train_on!r}")

    @classmethod
    def from_dict(cls, cfg: dict) -> "PairsConfig":
        return cls(margin=float(cfg["margin"]), min_judges=cfg["min_judges"], train_on=cfg["train_on"])


def answers_of(generations: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(model, prompt_id) -> the model's first sampled answer: the one it played in its duel."""
    first = generations[generations["sample"] == 0]
    return dict(zip(zip(first["model"], first["prompt_id"], strict=True), first["response"], strict=True))


def duels_with_answers(verdicts: pd.DataFrame, matches: pd.DataFrame, answers: Mapping) -> pd.DataFrame:
    duels = verdicts.merge(matches[["match_id", "prompt", "reference"]], on="match_id", how="left")
    duels["answer_a"] = [answers[(m, p)] for m, p in zip(duels["model_a"], duels["prompt_id"], strict=True)]
    duels["answer_b"] = [answers[(m, p)] for m, p in zip(duels["model_b"], duels["prompt_id"], strict=True)]
    return duels


def build_pairs(duels: pd.DataFrame, cfg: PairsConfig) -> pd.DataFrame:
    """Every pair the iteration's duels give, in match order."""
    decided = duels[
        (duels["d"].abs() > cfg.margin)
        & (duels["n_judges"] >= cfg.min_judges)
        & (duels["answer_a"] != duels["answer_b"])
    ]
    a_wins = decided["d"] > 0
    return pd.DataFrame(
        {
            "prompt_id": decided["prompt_id"].to_numpy(),
            "prompt": decided["prompt"].to_numpy(),
            "chosen": np.where(a_wins, decided["answer_a"], decided["answer_b"]),
            "rejected": np.where(a_wins, decided["answer_b"], decided["answer_a"]),
            "margin": decided["d"].abs().to_numpy(),
            "match_id": decided["match_id"].to_numpy(),
            "chosen_model": np.where(a_wins, decided["model_a"], decided["model_b"]),
            "rejected_model": np.where(a_wins, decided["model_b"], decided["model_a"]),
        },
        columns=PAIRS.columns,
    )


def pairs_for_model(pairs: pd.DataFrame, model: str, cfg: PairsConfig) -> pd.DataFrame:
    if cfg.train_on == "all":
        return pairs
    return pairs[(pairs["chosen_model"] == model) | (pairs["rejected_model"] == model)]


def pair_stats(duels: pd.DataFrame, pairs: pd.DataFrame, cfg: PairsConfig, evaluator: str | None) -> dict:
    """What the pairs are made of: counts, margins, who wins, length bias, and correctness when checkable."""
    identical = duels["answer_a"] == duels["answer_b"]
    no_verdict = duels["d"].astype(float).isna()
    counts, edges = np.histogram(pairs["margin"].to_numpy(dtype=float), bins=10, range=(0.0, 1.0))
    stats: dict[str, object] = {
        "duels": len(duels),
        "pairs": len(pairs),
        "dropped_identical_answers": int(identical.sum()),
        "dropped_no_verdict": int((no_verdict & ~identical).sum()),
        "dropped_within_margin": int(((duels["d"].abs() <= cfg.margin) & ~identical & ~no_verdict).sum()),
        "dropped_too_few_judges": int(
            ((duels["n_judges"] < cfg.min_judges) & (duels["d"].abs() > cfg.margin) & ~identical & ~no_verdict).sum()
        ),
        "margin": cfg.margin,
        "margin_histogram": {"edges": edges.round(2).tolist(), "counts": counts.tolist()},
        "chosen_model_share": (pairs["chosen_model"].value_counts(normalize=True).round(4).to_dict()),
        "mean_length_delta_chars": (
            float((pairs["chosen"].str.len() - pairs["rejected"].str.len()).mean()) if len(pairs) else None
        ),
    }
    if evaluator is not None and len(pairs):
        is_correct = checker(evaluator)
        reference = duels.set_index("match_id").loc[pairs["match_id"], "reference"].to_numpy()
        chosen_ok = np.array([is_correct(c, r) for c, r in zip(pairs["chosen"], reference, strict=True)])
        rejected_ok = np.array([is_correct(c, r) for c, r in zip(pairs["rejected"], reference, strict=True)])
        stats["chosen_correct"] = float(chosen_ok.mean())
        stats["inverted"] = float((~chosen_ok & rejected_ok).mean())
        stats["both_wrong"] = float((~chosen_ok & ~rejected_ok).mean())
    return stats


def make_pairs(
    matches_path: str | Path,
    judgment_paths: list[str | Path],
    generation_paths: list[str | Path],
    ratings_path: str | Path,
    out_paths: Mapping[str, str | Path],
    stats_path: str | Path,
    cfg: PairsConfig,
    *,
    evaluator: str | None,
) -> None:
    """Write each model's training pairs and the iteration's pair statistics.

    Judges weigh as they did when ``ratings_path`` (the iteration's ratings under ``rating.scheme``) was
    computed: its ``judge_weights``, so the verdict that moved the ratings is the verdict that makes the pair.
    ``evaluator`` names the checker used to report how many chosen answers are correct (never to pick them).
    """
    matches = read_table(matches_path, MATCHES)
    judgments = read_tables(judgment_paths, JUDGMENTS)
    generations = read_tables(generation_paths, GENERATIONS)
    verdicts = duel_verdicts(matches, judgments, read_json(ratings_path)["judge_weights"])
    duels = duels_with_answers(verdicts, matches, answers_of(generations))
    pairs = build_pairs(duels, cfg)
    for model, path in out_paths.items():
        write_table(pairs_for_model(pairs, model, cfg), path, PAIRS)
    write_json(pair_stats(duels, pairs, cfg, evaluator), stats_path)
