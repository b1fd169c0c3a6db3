"""The evaluate stage: held-out accuracy of one model, greedy and sampled, with the task's own evaluator."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from agon.contracts import PROMPTS, read_table
from agon.files import write_json
from agon.generation import SamplingConfig, make_generator
from agon.models import ModelSpec
from agon.tasks import checker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    samples_per_prompt: int = 4
    temperature: float = 1.0
    max_new_tokens: int = 8
    batch_size: int = 256

    @classmethod
    def from_dict(cls, cfg: dict) -> "EvalConfig":
        return cls(**{k: cfg[k] for k in ("samples_per_prompt", "temperature", "max_new_tokens", "batch_size")})


def accuracy(responses: list[list[str]], references: list[str], is_correct) -> tuple[float | None, int]:
    """Share of correct answers over all samples of all prompts, and the number of answers; the share is None
    for a task whose answers nothing can check (``is_correct`` None)."""
    answers = sum(map(len, responses))
    if is_correct is None:
        return None, answers
    scored = [is_correct(r, ref) for samples, ref in zip(responses, references, strict=True) for r in samples]
    return float(np.mean(scored)) if scored else float("nan"), answers


def evaluate_model(
    heldout_path: str | Path,
    out_path: str | Path,
    spec: ModelSpec,
    cfg: EvalConfig,
    *,
    evaluator: str | None,
    iteration: int,
    backend: str,
    device: str,
    seed: int,
    engine: Mapping | None = None,
    threads: int = 1,
) -> dict:
    """Write ``{greedy_accuracy, sampled_accuracy, ...}`` of ``spec`` on the held-out prompts as JSON."""
    torch.set_num_threads(threads)
    heldout = read_table(heldout_path, PROMPTS)
    prompts, references = heldout["prompt"].tolist(), heldout["reference"].tolist()
    generator = make_generator(backend, spec, device, engine)
    is_correct = checker(evaluator) if evaluator else None
    greedy = SamplingConfig(max_new_tokens=cfg.max_new_tokens, temperature=0.0, n=1, batch_size=cfg.batch_size)
    sampled = replace(greedy, temperature=cfg.temperature, n=cfg.samples_per_prompt)
    metrics: dict[str, object] = {
        "model": spec.name,
        "adapter": spec.adapter,
        "iteration": iteration,
        "evaluator": evaluator,
        "heldout_prompts": len(heldout),
        "samples_per_prompt": cfg.samples_per_prompt,
        "temperature": cfg.temperature,
        "seed": seed,
        "backend": generator.backend,
    }
    for label, sampling in (("greedy", greedy), ("sampled", sampled)):
        texts = [[c.text for c in samples] for samples in generator.generate(prompts, sampling, seed)]
        acc, n = accuracy(texts, references, is_correct)
        metrics[f"{label}_accuracy"] = acc
        metrics[f"{label}_answers"] = n
        shown = "unchecked" if acc is None else f"{acc:.3f}"
        logger.info("%s: %s accuracy %s over %d answers", spec.name, label, shown, n)
    write_json(metrics, out_path)
    return metrics
