"""The Generator role: any backend that turns chat prompts into sampled completions."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SamplingConfig:
    max_new_tokens: int = 8
    temperature: float = 1.0  # 0 = greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    n: int = 1  # samples per prompt
    batch_size: int = 256

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    @classmethod
    def from_dict(cls, cfg: dict) -> "SamplingConfig":
        return cls(
            max_new_tokens=cfg["max_new_tokens"],
            temperature=float(cfg.get("temperature", 1.0)),
            top_p=float(cfg.get("top_p", 1.0)),
            top_k=cfg.get("top_k", 0),
            n=cfg.get("samples_per_prompt", 1),
            batch_size=cfg["batch_size"],
        )


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int
    finish_reason: str  # "stop" (end of sequence) or "length" (max_new_tokens reached)


class Generator(Protocol):
    backend: str

    def generate(self, prompts: list[str], sampling: SamplingConfig, seed: int) -> list[list[Completion]]:
        """Return ``sampling.n`` completions for each user prompt, deterministically for a given seed."""
        ...


class PopulationGenerator(Generator, Protocol):
    def generate_population(
        self, prompts: Mapping[str, list[str]], sampling: SamplingConfig, seeds: Mapping[str, int]
    ) -> dict[str, list[list[Completion]]]:
        """Completions for each member's prompts (keyed by member name), each member with its own seed."""
        ...
