"""The generate stage: a model answers a shard of prompts, one row per sample, in the generations contract."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from agon.contracts import GENERATIONS, PROMPTS, read_table, write_table
from agon.generation.protocol import Completion, Generator, SamplingConfig

if TYPE_CHECKING:
    from agon.models import ModelSpec

__all__ = ["Completion", "Generator", "SamplingConfig", "generate_responses", "make_generator", "shard_of"]

logger = logging.getLogger(__name__)


def make_generator(backend: str, spec: "ModelSpec", device: str) -> Generator:
    # torch and transformers load only in jobs that run a model: they take seconds to import.
    from agon.models import load_for_inference, resolve_device

    match backend:
        case "hf":
            from agon.generation.hf_backend import HFGenerator

            return HFGenerator(*load_for_inference(spec, resolve_device(device)))
        case other:
            raise ValueError(f"config key 'generation.backend': unknown backend {other!r}")


def shard_of(prompts: pd.DataFrame, shard: int, shards: int) -> pd.DataFrame:
    """Every ``shards``-th prompt starting at ``shard``: shards stay balanced and together cover all prompts."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is outside 0..{shards - 1}")
    return prompts.iloc[shard::shards].reset_index(drop=True)


def completions_frame(
    prompts: pd.DataFrame, completions: list[list[Completion]], spec: "ModelSpec", seed: int, backend: str
) -> pd.DataFrame:
    rows = [
        {
            "prompt_id": pid,
            "prompt": prompt,
            "model": spec.name,
            "sample": k,
            "response": c.text,
            "n_tokens": c.n_tokens,
            "finish_reason": c.finish_reason,
            "seed": seed,
            "backend": backend,
            "adapter": spec.adapter or "",
        }
        for pid, prompt, samples in zip(prompts["prompt_id"], prompts["prompt"], completions, strict=True)
        for k, c in enumerate(samples)
    ]
    return pd.DataFrame(rows, columns=GENERATIONS.columns)


def generate_responses(
    prompts_path: str | Path,
    out_path: str | Path,
    spec: "ModelSpec",
    sampling: SamplingConfig,
    *,
    backend: str,
    device: str,
    seed: int,
    shard: int = 0,
    shards: int = 1,
    threads: int = 1,
) -> None:
    """Answer this shard's prompts with ``spec`` and write the generations table."""
    import torch

    torch.set_num_threads(threads)
    prompts = shard_of(read_table(prompts_path, PROMPTS), shard, shards)
    logger.info(
        "model %s answers %d prompts x %d samples (shard %d/%d)",
        spec.name,
        len(prompts),
        sampling.n,
        shard + 1,
        shards,
    )
    generator = make_generator(backend, spec, device)
    completions = generator.generate(prompts["prompt"].tolist(), sampling, seed)
    write_table(completions_frame(prompts, completions, spec, seed, generator.backend), out_path, GENERATIONS)


def gather_shards(shard_paths: list[str | Path], out_path: str | Path) -> None:
    """Concatenate a model's shards, in shard order, into its generations table."""
    frames = [read_table(p, GENERATIONS) for p in shard_paths]
    write_table(pd.concat(frames, ignore_index=True), out_path, GENERATIONS)
