"""Tribe's preference pairs from judged duels: the winner's answer is chosen, the loser's rejected.

The verdict of a duel is the reputation-weighted aggregate ``d`` of its judges (ratings.verdicts). A pair is
made when ``|d|`` exceeds the margin; ties, duels without a valid verdict and identical answers make none.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import (
    GENERATIONS,
    JUDGMENTS,
    MATCHES,
    PAIR_STATS,
    PAIRS,
    read_table,
    read_tables,
    write_document,
    write_table,
)
from agon.files import read_json
from agon.pair_stats import pair_stats_document
from agon.ratings.verdicts import duel_verdicts
from agon.tasks import checker

TRAIN_ON = ("all", "own")
# Why a duel gives no pair, checked in this order; "" when it gives one.
DROP_REASONS = ("identical_answers", "no_verdict", "within_margin", "too_few_judges")


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


def drop_reasons(duels: pd.DataFrame, cfg: PairsConfig) -> pd.Series:
    """Per duel, the first of ``DROP_REASONS`` that keeps it from giving a pair; "" when it gives one."""
    d = duels["d"].astype(float)
    reasons = np.select(
        [duels["answer_a"] == duels["answer_b"], d.isna(), d.abs() <= cfg.margin, duels["n_judges"] < cfg.min_judges],
        DROP_REASONS,
        default="",
    )
    return pd.Series(reasons, index=duels.index, dtype=object)


def build_pairs(duels: pd.DataFrame, cfg: PairsConfig) -> pd.DataFrame:
    """Every pair the iteration's duels give, in match order."""
    decided = duels[drop_reasons(duels, cfg) == ""]
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
    """The pair statistics document (agon.pair_stats) of the duels; ``evaluator`` checks the paired answers."""
    chosen_ok = rejected_ok = None
    if evaluator is not None and len(pairs):
        is_correct = checker(evaluator)
        reference = duels.set_index("match_id").loc[pairs["match_id"], "reference"].to_numpy()
        chosen_ok = np.array([is_correct(c, r) for c, r in zip(pairs["chosen"], reference, strict=True)], dtype=bool)
        rejected_ok = np.array(
            [is_correct(c, r) for c, r in zip(pairs["rejected"], reference, strict=True)], dtype=bool
        )
    return pair_stats_document(
        "tribe",
        drop_reasons(duels, cfg),
        DROP_REASONS,
        pairs,
        chosen_ok=chosen_ok,
        rejected_ok=rejected_ok,
        extras={"margin": cfg.margin},
    )


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
    computed: its ``judge_weights`` and ``tie_band``, so the verdict that moved the ratings makes the pair.
    ``evaluator`` names the checker used to report how many chosen answers are correct (never to pick them).
    """
    matches = read_table(matches_path, MATCHES)
    judgments = read_tables(judgment_paths, JUDGMENTS)
    generations = read_tables(generation_paths, GENERATIONS)
    ratings = read_json(ratings_path)
    verdicts = duel_verdicts(matches, judgments, ratings["judge_weights"], ratings["tie_band"])
    duels = duels_with_answers(verdicts, matches, answers_of(generations))
    pairs = build_pairs(duels, cfg)
    for model, path in out_paths.items():
        write_table(pairs_for_model(pairs, model, cfg), path, PAIRS)
    write_document(pair_stats(duels, pairs, cfg, evaluator), stats_path, PAIR_STATS)
