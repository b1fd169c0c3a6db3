"""The judge stage: one judge reads the duels of an iteration and writes its verdicts as a judgments table.

A judge's duels can be cut into shards, contiguous blocks judged by separate jobs: every judge writes its rows
duel by duel, so the shards' tables gathered in shard order are the table one job writes.
"""

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from agon.contracts import DUELS, GENERATIONS, JUDGMENTS, MATCHES, read_table, read_tables, write_table
from agon.judging.protocol import DUEL_COLUMNS, Judge, JudgeConfig, judgments_frame
from agon.judging.reference import reference_judgments, reference_prompts
from agon.judging.verifier import VerifierJudge
from agon.shards import block_of, gather_tables

if TYPE_CHECKING:
    from agon.models import ModelSpec

__all__ = [
    "DUEL_COLUMNS",
    "EXTERNAL_METHODS",
    "METHODS",
    "Judge",
    "JudgeConfig",
    "duels_frame",
    "gather_judgments",
    "judge_matches",
    "judge_matches_external",
    "judged_by",
    "make_external_judge",
    "make_judge",
    "read_duels",
    "write_judgments",
]

logger = logging.getLogger(__name__)

METHODS = ("verifier", "peer", "logprob")
EXTERNAL_METHODS = ("reward_model", "pairwise", "api")


def make_judge(
    cfg: JudgeConfig,
    name: str,
    *,
    evaluator: str | None,
    spec: "ModelSpec | None",
    device: str,
    backend: str = "hf",
    engine: Mapping | None = None,
) -> Judge:
    """Build the judge of ``cfg.method``; model-based methods load ``spec`` on ``device``. Peers that generate
    (reference and score modes) do so through the generation ``backend``; scoring by likelihood needs the model's
    logits, which only transformers gives."""
    # torch and transformers load only for model judges: the verifier job starts in a fraction of the time.
    from agon.judging.logprob import LogprobJudge
    from agon.judging.peer import peer_judge
    from agon.models import load_for_inference, resolve_device

    match cfg.method:
        case "verifier":
            return VerifierJudge(evaluator, name)
        case "peer":
            return peer_judge(cfg, name, _model_of(spec, name, cfg.method), device, evaluator, backend, engine)
        case "logprob":
            model, tokenizer = load_for_inference(_model_of(spec, name, cfg.method), resolve_device(device))
            return LogprobJudge(name, model, tokenizer, cfg.batch_size)
        case other:
            raise ValueError(f"config key 'judging.judges': unknown judge method {other!r}; expected one of {METHODS}")


def _model_of(spec: "ModelSpec | None", name: str, method: str) -> "ModelSpec":
    if spec is None:
        raise ValueError(f"config key 'judging.judges': judge {name} uses method {method!r}, which needs a model")
    return spec


def judged_by(duels: pd.DataFrame, juror: str, shard: int = 0, shards: int = 1) -> pd.DataFrame:
    """The block of ``duels`` (or of their matches, row for row) that member ``juror`` judges in ``shard``: those
    it does not fight in, cut into shards so that the shards stay balanced."""
    own = duels[(duels["model_a"] != juror) & (duels["model_b"] != juror)]
    return block_of(own, shard, shards)


def duels_frame(matches: pd.DataFrame, generations: pd.DataFrame) -> pd.DataFrame:
    """Each match with both answers to its prompt, in match order.

    A tribe duel compares the duellists' first answers (sample 0). A selfplay comparison names the samples it
    compares (``sample_a``, ``sample_b``) of one model's answers.
    """
    sampled = {"sample_a", "sample_b"} <= set(matches.columns)
    keys = ["model", "prompt_id", "sample"]
    answers = (
        generations[[*keys, "response"]]
        if sampled
        else generations.loc[generations["sample"] == 0, [*keys, "response"]]
    )
    repeated = answers[answers.duplicated(keys)]
    if not repeated.empty:
        model, prompt_id, sample = repeated.iloc[0][keys]
        raise ValueError(f"generations hold more than one answer {sample} of model {model} to prompt {prompt_id}")
    duels = matches
    for side in ("a", "b"):
        side_answers = answers.rename(
            columns={"model": f"model_{side}", "response": f"answer_{side}", "sample": f"sample_{side}"}
        )
        on = [f"model_{side}", "prompt_id", f"sample_{side}"] if sampled else [f"model_{side}", "prompt_id"]
        if not sampled:
            side_answers = side_answers.drop(columns=f"sample_{side}")
        duels = duels.merge(side_answers, on=on, how="left")
        missing = duels[duels[f"answer_{side}"].isna()]
        if not missing.empty:
            model, prompt_id = missing.iloc[0][[f"model_{side}", "prompt_id"]]
            raise ValueError(
                f"no answer of model {model} to prompt {prompt_id} (match {missing.iloc[0]['match_id']}) "
                f"in the generations; {len(missing)} match(es) lack one"
            )
    return duels[DUEL_COLUMNS]


def read_duels(
    matches_path: str | Path, generation_paths: list[str | Path] = (), duels_path: str | Path | None = None
) -> pd.DataFrame:
    """What the judges read, from the files on disk (checked against their contracts).

    Tribe and selfplay duels pair the matches with the generations; a protocol whose judges read more than two
    answers (debate: the transcripts) writes its duels itself (``duels_path``).
    """
    if duels_path is not None:
        return read_table(duels_path, DUELS)[DUEL_COLUMNS]
    generations = read_tables(generation_paths, GENERATIONS)
    return duels_frame(read_table(matches_path, MATCHES), generations)


def write_judgments(
    judgments: pd.DataFrame, out_path: str | Path, matches_path: str | Path, branches_path: str | Path | None
) -> None:
    """The judgments of the matches to ``out_path``; with ``branches_path``, the verdicts on anything else the
    judge read (debate's branched transcripts) there, so ratings read the matches' verdicts alone."""
    if branches_path is None:
        write_table(judgments, out_path, JUDGMENTS)
        return
    own = judgments["match_id"].isin(read_table(matches_path, MATCHES)["match_id"])
    write_table(judgments[own].reset_index(drop=True), out_path, JUDGMENTS)
    write_table(judgments[~own].reset_index(drop=True), branches_path, JUDGMENTS)


def make_external_judge(name: str, params: dict, *, device: str, cache_dir: str | Path | None) -> Judge:
    """Build a judge from outside the population (``judging.external.<name>``)."""
    match params["method"]:
        case "reward_model":
            from agon.judging.reward_model import build_reward_model_judge

            return build_reward_model_judge(name, params, device=device)
        case "pairwise":
            from agon.judging.pairwise import build_pairwise_judge

            return build_pairwise_judge(name, params, device=device)
        case "api":
            from agon.judging.api import build_api_judge

            return build_api_judge(name, params, cache_dir=cache_dir)
        case other:
            raise ValueError(
                f"config key 'judging.external.{name}.method': unknown method {other!r}; "
                f"expected one of {EXTERNAL_METHODS}"
            )


def judge_matches_external(
    matches_path: str | Path,
    generation_paths: list[str | Path],
    out_path: str | Path,
    name: str,
    params: dict,
    *,
    device: str,
    cache_dir: str | Path | None,
    duels_path: str | Path | None = None,
    branches_path: str | Path | None = None,
    shard: int = 0,
    shards: int = 1,
) -> None:
    """Judge the iteration's duels (those of ``shard``) with a judge from outside the population and write its
    judgments.

    The judge is built (and its model loaded, or its endpoint and key checked) only after the duels are read and
    checked, so bad files fail fast.
    """
    duels = block_of(read_duels(matches_path, generation_paths, duels_path), shard, shards)
    logger.info("judge %s (%s) judges %d duels (shard %d/%d)", name, params["method"], len(duels), shard + 1, shards)
    if duels.empty:
        logger.warning("judge %s has no duel to judge: there are fewer duels than shards", name)
        judgments = judgments_frame([], name, params["method"])
    else:
        judgments = make_external_judge(name, params, device=device, cache_dir=cache_dir).judge(duels)
    write_judgments(judgments, out_path, matches_path, branches_path)


def judge_matches(
    matches_path: str | Path,
    generation_paths: list[str | Path],
    out_path: str | Path,
    cfg: JudgeConfig,
    *,
    judge_name: str,
    evaluator: str | None,
    spec_dict: dict | None,
    device: str,
    generation: Mapping | None = None,
    threads: int = 1,
    duels_path: str | Path | None = None,
    branches_path: str | Path | None = None,
    shard: int = 0,
    shards: int = 1,
    inference: Mapping[str, str | Path] | None = None,
) -> None:
    """Judge the iteration's duels (those of ``shard``) with one judge and write its judgments table.

    A population member (``spec_dict`` given) never judges a duel it fights in; its shards are cut from the
    duels it judges, so they stay balanced. A member judging by reference reads its own answers from the infer
    job's files (``inference``) when that job made them with these settings, and loads no model.
    """
    duels = read_duels(matches_path, generation_paths, duels_path)
    # Imported here: agon.inference imports this package (the reference judge's settings and prompts).
    from agon.inference import InferenceAnswers

    member = spec_dict is not None
    duels = judged_by(duels, judge_name, shard, shards) if member else block_of(duels, shard, shards)
    logger.info("judge %s (%s) judges %d duels (shard %d/%d)", judge_name, cfg.method, len(duels), shard + 1, shards)
    own = (
        InferenceAnswers(inference).references(judge_name, cfg, shard, reference_prompts(duels)) if inference else None
    )
    if duels.empty:
        # Loading a model to judge nothing would only cost time and memory.
        logger.warning(
            "judge %s has no duel to judge: it fights in all of them, or there are fewer duels than shards",
            judge_name,
        )
        judgments = judgments_frame([], judge_name, cfg.method)
    elif own is not None:
        logger.info("judge %s compares the duels with its own answers from the infer job", judge_name)
        judgments = reference_judgments(duels, own, judge_name, evaluator)
    else:
        judgments = _judge_with_model(duels, cfg, judge_name, evaluator, spec_dict, device, generation, threads)
    write_judgments(judgments, out_path, matches_path, branches_path)


def _judge_with_model(
    duels: pd.DataFrame,
    cfg: JudgeConfig,
    judge_name: str,
    evaluator: str | None,
    spec_dict: dict | None,
    device: str,
    generation: Mapping | None,
    threads: int,
) -> pd.DataFrame:
    """Build the judge (loading its model, for a member) and judge ``duels``."""
    spec = None
    if spec_dict is not None:
        import torch

        from agon.models import ModelSpec

        torch.set_num_threads(threads)
        spec = ModelSpec.from_dict(spec_dict)
    backend, engine = (generation["backend"], generation["vllm"]) if generation else ("hf", None)
    judge = make_judge(cfg, judge_name, evaluator=evaluator, spec=spec, device=device, backend=backend, engine=engine)
    return judge.judge(duels)


def gather_judgments(
    shard_paths: list[str | Path],
    out_path: str | Path,
    branch_shard_paths: list[str | Path] = (),
    branches_path: str | Path | None = None,
) -> None:
    """Concatenate a judge's shards, in shard order, into its judgments table (and, for debate, its branch
    verdicts into theirs): the table one job judging every duel writes."""
    gather_tables(shard_paths, out_path, JUDGMENTS)
    if branches_path is not None:
        gather_tables(branch_shard_paths, branches_path, JUDGMENTS)
