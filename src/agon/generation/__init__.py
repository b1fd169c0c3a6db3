"""The generate stage: a model answers a shard of prompts, one row per sample, in the generations contract."""

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from agon.contracts import GENERATIONS, PROMPTS, read_table, read_tables, write_table
from agon.generation.protocol import Completion, Generator, PopulationGenerator, SamplingConfig
from agon.shards import shard_of

if TYPE_CHECKING:
    from agon.models import ModelSpec

__all__ = [
    "Completion",
    "Generator",
    "PopulationGenerator",
    "SamplingConfig",
    "answer_prompts",
    "generate_responses",
    "make_generator",
    "make_population_generator",
    "read_prompts",
    "shard_of",
]

logger = logging.getLogger(__name__)


def make_generator(backend: str, spec: "ModelSpec", device: str, engine: Mapping | None = None) -> Generator:
    """One member's generator (evaluation, judges, debate speeches)."""
    return make_population_generator(backend, [spec], device, engine)


def make_population_generator(
    backend: str, specs: Sequence["ModelSpec"], device: str, engine: Mapping | None = None
) -> PopulationGenerator:
    """A generator for members that share a base model: vllm serves them all from one engine; hf, whose
    generator holds one merged model, takes exactly one member."""
    # torch, transformers and vllm load only in jobs that run a model: they take seconds to import.
    match backend:
        case "hf":
            from agon.generation.hf_backend import HFGenerator
            from agon.models import load_for_inference, resolve_device

            if len(specs) != 1:
                raise ValueError(f"the hf backend generates for one member at a time, not {[s.name for s in specs]}")
            return HFGenerator(*load_for_inference(specs[0], resolve_device(device)), name=specs[0].name)
        case "vllm":
            from agon.generation.vllm_backend import EngineConfig, VLLMGenerator

            return VLLMGenerator(specs, EngineConfig.from_dict(engine or {}), device)
        case other:
            raise ValueError(f"config key 'generation.backend': unknown backend {other!r}")


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
    prompt_paths: Mapping[str, str | Path],
    out_path: str | Path,
    specs: Sequence["ModelSpec"],
    sampling: SamplingConfig,
    *,
    backend: str,
    device: str,
    seeds: Mapping[str, int],
    engine: Mapping | None = None,
    shard: int = 0,
    shards: int = 1,
    threads: int = 1,
) -> None:
    """Answer this shard of each member's prompts and write one generations table holding every member's rows.

    ``prompt_paths`` and ``seeds`` are keyed by member name. Members that share a base model run in one job
    with the vllm backend; with hf each job has one member.
    """
    import torch

    torch.set_num_threads(threads)
    prompts = read_prompts(prompt_paths, specs, shard, shards)
    generator = make_population_generator(backend, specs, device, engine)
    write_table(answer_prompts(generator, specs, prompts, sampling, seeds), out_path, GENERATIONS)


def read_prompts(
    prompt_paths: Mapping[str, str | Path], specs: Sequence["ModelSpec"], shard: int = 0, shards: int = 1
) -> dict[str, pd.DataFrame]:
    """This shard of each member's prompts, keyed by member, logged."""
    prompts = {spec.name: shard_of(read_table(prompt_paths[spec.name], PROMPTS), shard, shards) for spec in specs}
    for name, table in prompts.items():
        logger.info("model %s answers %d prompts (shard %d/%d)", name, len(table), shard + 1, shards)
    return prompts


def answer_prompts(
    generator: PopulationGenerator,
    specs: Sequence["ModelSpec"],
    prompts: Mapping[str, pd.DataFrame],
    sampling: SamplingConfig,
    seeds: Mapping[str, int],
) -> pd.DataFrame:
    """Every member's answers to its prompts (``sampling.n`` each, one call for all members), as one generations
    table in ``specs`` order."""
    completions = generator.generate_population(
        {name: table["prompt"].tolist() for name, table in prompts.items()}, sampling, seeds
    )
    frames = [
        completions_frame(prompts[spec.name], completions[spec.name], spec, seeds[spec.name], generator.backend)
        for spec in specs
    ]
    for frame in frames:
        empty = int(frame["response"].str.strip().eq("").sum())
        if empty:
            # Kept as they are: an empty answer is a wrong one to the verifier and to reference judges.
            logger.warning("model %s: %d of %d answers are empty", frame["model"].iat[0], empty, len(frame))
    return pd.concat(frames, ignore_index=True)


def gather_shards(shard_paths: list[str | Path], out_path: str | Path, model: str | None = None) -> None:
    """Concatenate shards, in shard order, into a model's generations table; shards of a job that served
    several members (one vLLM engine per base model) are filtered to ``model``."""
    rows = read_tables(shard_paths, GENERATIONS)
    if model is not None:
        rows = rows[rows["model"] == model].reset_index(drop=True)
    write_table(rows, out_path, GENERATIONS)
