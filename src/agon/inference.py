"""One model load per member and iteration: the infer job answers everything the iteration asks of a checkpoint.

Without it, a member is loaded (an engine started, with vLLM) three times an iteration: to answer its duels, to
answer each prompt it judges as a reference judge, and to be evaluated. On GPUs each load is a model read and an
engine start, tens of seconds before any token. The infer job loads the checkpoints of one engine group once and
writes, as separate files: the duel answers (of generation shard 0), the greedy held-out answers and samples the
evaluate job scores, and per judge shard each member's greedy answers to the prompts it judges, which the judge job
compares with the duel answers. Each call is the one the separate job makes (same prompts in the same order, same
sampling, seed and batch size), and generators seed every batch or request themselves, so the outputs are those of
the separate jobs, byte for byte.

The evaluation and judging settings reach the infer job from the config, not as rule parameters, on purpose: a
change to them must re-run only the evaluate or judge jobs, not the iteration's generation and all that follows.
So the infer job records the settings it answered with, and the reader uses its answers only where they equal its
own settings; otherwise it loads the model itself, as it would without this job.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from agon.contracts import GENERATIONS, MATCHES, PROMPTS, read_table, write_table
from agon.files import read_json, write_json
from agon.generation import PopulationGenerator, SamplingConfig, answer_prompts, completions_frame, read_prompts
from agon.judging import JudgeConfig, judged_by
from agon.judging.reference import reference_prompts, reference_sampling
from agon.plan import DECODINGS

if TYPE_CHECKING:
    from agon.evaluation import EvalConfig
    from agon.models import ModelSpec

logger = logging.getLogger(__name__)


def heldout_sampling(cfg: "EvalConfig") -> dict[str, SamplingConfig]:
    """How an evaluation answers the held-out prompts, by decoding: greedily once, and sampled."""
    greedy = SamplingConfig(max_new_tokens=cfg.max_new_tokens, temperature=0.0, n=1, batch_size=cfg.batch_size)
    return {"greedy": greedy, "sampled": replace(greedy, temperature=cfg.temperature, n=cfg.samples_per_prompt)}


def answer_heldout(
    generator: PopulationGenerator, spec: "ModelSpec", heldout: pd.DataFrame, cfg: "EvalConfig", seed: int
) -> dict[str, pd.DataFrame]:
    """One member's greedy and sampled answers to the held-out prompts, as generations tables by decoding."""
    prompts = heldout["prompt"].tolist()
    frames = {}
    for decoding, sampling in heldout_sampling(cfg).items():
        completions = generator.generate_population({spec.name: prompts}, sampling, {spec.name: seed})[spec.name]
        frames[decoding] = completions_frame(heldout, completions, spec, seed, generator.backend)
    return frames


def answer_references(
    generator: PopulationGenerator, spec: "ModelSpec", matches: pd.DataFrame, cfg: JudgeConfig, shard: int, shards: int
) -> pd.DataFrame:
    """One member's greedy answers, as a reference judge, to the prompts of the duels it judges in ``shard``: those
    ``ReferenceJudge.judge`` would answer, in its order and batch size."""
    prompts = reference_prompts(judged_by(matches, spec.name, shard, shards))
    if not prompts:
        return pd.DataFrame(columns=GENERATIONS.columns)
    table = matches.drop_duplicates("prompt").set_index("prompt").loc[prompts, "prompt_id"].reset_index()
    # Greedy decoding ignores the seed.
    completions = generator.generate_population({spec.name: prompts}, reference_sampling(cfg), {spec.name: 0})
    return completions_frame(table, completions[spec.name], spec, 0, generator.backend)


def reference_settings(judging: Mapping) -> dict | None:
    """What a reference judge's answers depend on, from the judging config; None when no judge answers by
    reference (its answers would serve no one)."""
    if "peer" not in judging["judges"] or judging["peer_mode"] != "reference":
        return None
    return {"batch_size": judging["batch_size"], "max_new_tokens": judging["max_new_tokens"]}


def infer(
    prompt_paths: Mapping[str, str | Path],
    matches_path: str | Path,
    heldout_path: str | Path,
    specs: Sequence["ModelSpec"],
    sampling: SamplingConfig,
    outputs: Mapping[str, str | Path],
    *,
    evaluation: "EvalConfig",
    judging: Mapping,
    backend: str,
    device: str,
    seeds: Mapping[str, int],
    evaluation_seeds: Mapping[str, int],
    engine: Mapping | None = None,
    generation_shards: int = 1,
    judge_shards: int = 1,
    threads: int = 1,
) -> None:
    """Load the group's checkpoints once and write everything the iteration asks of them.

    ``outputs`` holds the keys of ``Plan.inference_patterns`` and ``generations``: the duel answers of generation
    shard 0 (of ``generation_shards``), as its generate_shard job would write them. ``judging`` is the judging
    config section.
    """
    import torch

    from agon.generation import make_population_generator

    torch.set_num_threads(threads)
    prompts = read_prompts(prompt_paths, specs, 0, generation_shards)
    matches = read_table(matches_path, MATCHES)
    heldout = read_table(heldout_path, PROMPTS)
    references = reference_settings(judging)
    generator = make_population_generator(backend, specs, device, engine)
    write_table(answer_prompts(generator, specs, prompts, sampling, seeds), outputs["generations"], GENERATIONS)
    judge_cfg = JudgeConfig.from_dict({**judging, "method": "peer"})
    for shard in range(judge_shards):
        own = [
            answer_references(generator, spec, matches, judge_cfg, shard, judge_shards)
            for spec in (specs if references else ())
        ]
        table = pd.concat(own, ignore_index=True) if own else pd.DataFrame(columns=GENERATIONS.columns)
        write_table(table, outputs[f"references_{shard}"], GENERATIONS)
    answers = [answer_heldout(generator, spec, heldout, evaluation, evaluation_seeds[spec.name]) for spec in specs]
    for decoding in DECODINGS:
        write_table(pd.concat([a[decoding] for a in answers], ignore_index=True), outputs[decoding], GENERATIONS)
    settings = {
        "backend": generator.backend,
        "evaluation": asdict(evaluation),
        "evaluation_seeds": dict(evaluation_seeds),
        "references": references,
    }
    write_json(settings, outputs["settings"])


def inference_of(inputs: Mapping[str, object]) -> dict[str, str] | None:
    """The infer job's files among a job's named inputs (``Plan.inference_inputs``), keyed as that job wrote them;
    None where the job has none."""
    return {k.removeprefix("inference_"): v for k, v in inputs.items() if k.startswith("inference_")} or None


@dataclass(frozen=True)
class InferenceAnswers:
    """An infer job's answers as the evaluate and judge jobs read them: only where they were made with the
    reader's own settings."""

    files: Mapping[str, str | Path]

    def _settings(self) -> dict | None:
        """The settings the infer job answered with; None before it has run."""
        path = Path(self.files["settings"])
        return read_json(path) if path.exists() else None

    def _heldout_made(self, settings: dict, model: str, cfg: "EvalConfig", seed: int, backend: str) -> bool:
        made = (settings["backend"], settings["evaluation"], settings["evaluation_seeds"].get(model))
        if made != (backend, asdict(cfg), seed):
            logger.info("the infer job answered the held-out prompts with other settings: %s", made)
            return False
        return True

    @staticmethod
    def _references_made(settings: dict, cfg: JudgeConfig) -> bool:
        wanted = {"batch_size": cfg.batch_size, "max_new_tokens": cfg.max_new_tokens}
        return settings["references"] == wanted

    def serves_heldout(self, model: str, cfg: "EvalConfig", seed: int, backend: str) -> bool:
        """Whether the evaluate job will read its answers here and load no model, as known when the DAG is built:
        an infer job that has not run yet will answer with this run's settings."""
        settings = self._settings()
        return settings is None or self._heldout_made(settings, model, cfg, seed, backend)

    def serves_references(self, cfg: JudgeConfig) -> bool:
        """Whether a judge job with ``cfg`` will read its juror's answers here and load no model, as known when the
        DAG is built (see ``serves_heldout``)."""
        if cfg.method != "peer" or cfg.mode != "reference":
            return False
        settings = self._settings()
        return settings is None or self._references_made(settings, cfg)

    def heldout(self, model: str, cfg: "EvalConfig", seed: int, backend: str) -> dict[str, pd.DataFrame] | None:
        """``model``'s greedy and sampled held-out answers, or None when they were made with other settings."""
        if self._settings() is None or not self.serves_heldout(model, cfg, seed, backend):
            return None
        return {d: _rows_of(read_table(self.files[d], GENERATIONS), model) for d in DECODINGS}

    def references(self, juror: str, cfg: JudgeConfig, shard: int, prompts: list[str]) -> dict[str, str] | None:
        """``juror``'s own greedy answer to each of ``prompts``, or None when the infer job made none for them
        with these settings."""
        if self._settings() is None or not self.serves_references(cfg):
            return None
        rows = _rows_of(read_table(self.files[f"references_{shard}"], GENERATIONS), juror)
        if rows["prompt"].tolist() != prompts:
            logger.info("the infer job's reference answers of %s are for other prompts", juror)
            return None
        return dict(zip(rows["prompt"], rows["response"], strict=True))


def _rows_of(table: pd.DataFrame, model: str) -> pd.DataFrame:
    return table[table["model"] == model].reset_index(drop=True)
