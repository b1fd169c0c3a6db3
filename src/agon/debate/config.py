"""The debate protocol's settings: the ``debate`` section of the config."""

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DebateConfig:
    """Built from the validated config: config/schema.yaml checks the keys, their types, ranges and choices."""

    # Speeches per debater: an opening and one reply; tiny models have little context for more.
    rounds: int = 2
    # sequential: A speaks, then B, who has heard A's speech of the round; simultaneous: both speak each round
    # having heard only the earlier rounds (neither gets the last word within a round).
    format: str = "sequential"
    # Least gain in the judge's favour (a probability) for a speech's two alternatives to make a pair.
    margin: float = 0.0
    # Whether the judge reads the background passage too. Debate on QuALITY keeps it from the judge: only the
    # debaters can quote the article, and the judge decides from what they say.
    judge_reads_background: bool = False

    def __post_init__(self) -> None:
        # The schema cannot refuse NaN: its minimum and maximum compare, and NaN compares false with everything.
        # A NaN margin would keep every pair, as margin 0 does, without a word.
        if math.isnan(self.margin):
            raise ValueError(f"debate.margin must be a number in [0, 1] (a gain in probability), got {self.margin!r}")

    @classmethod
    def from_dict(cls, cfg: Mapping) -> "DebateConfig":
        """From the ``debate`` config section."""
        return cls(**cfg)


def turns(cfg: DebateConfig) -> list[list[str]]:
    """The sides that speak at each turn: one per turn if sequential, both at once if simultaneous. The run's plan
    counts its speech jobs from this (agon.plan)."""
    if cfg.format == "sequential":
        return [["a"], ["b"]] * cfg.rounds
    return [["a", "b"] for _ in range(cfg.rounds)]
