"""One model load per member and iteration (agon.inference): the infer job writes what the generate, judge and
evaluate jobs would, byte for byte, and those jobs read it only where it was made with their own settings."""

import logging
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agon.contracts import GENERATIONS, MATCHES, PROMPTS, read_table, write_table
from agon.evaluation import EvalConfig, evaluate_model
from agon.files import write_json
from agon.generation import SamplingConfig, generate_responses
from agon.inference import infer, inference_of
from agon.judging import JudgeConfig, judge_matches
from agon.models import ModelSpec
from agon.plan import DECODINGS, Plan

from .testing_utils import NANO, load_test_config, snakemake

MEMBERS = ("ada", "bix", "cyr")
SAMPLING = SamplingConfig(max_new_tokens=6, temperature=1.0, n=2, batch_size=4)
EVALUATION = EvalConfig(samples_per_prompt=2, temperature=1.0, max_new_tokens=6, batch_size=8)
JUDGING = {"judges": ["peer", "verifier"], "peer_mode": "reference", "batch_size": 3, "max_new_tokens": 6}
SEEDS = {m: 11 + k for k, m in enumerate(MEMBERS)}
EVALUATION_SEEDS = {m: 23 + k for k, m in enumerate(MEMBERS)}


@pytest.fixture(scope="module")
def iteration(tmp_path_factory, tiny_member, micro_splits) -> dict:
    """Three members (one tiny model under three names) duelling on 9 prompts, round robin, and each one's infer
    job run: the paths of the matches, each member's prompts and each infer job's outputs."""
    root = tmp_path_factory.mktemp("inference")
    prompts = read_table(micro_splits["preference"], PROMPTS).head(9)
    pairs = [("ada", "bix"), ("bix", "cyr"), ("ada", "cyr")]
    matches = prompts[["prompt_id", "prompt", "reference"]].assign(
        match_id=[f"m{k}" for k in range(len(prompts))],
        round=0,
        model_a=[pairs[k % 3][0] for k in range(len(prompts))],
        model_b=[pairs[k % 3][1] for k in range(len(prompts))],
    )
    write_table(matches, root / "matches.parquet", MATCHES)
    files: dict = {"matches": root / "matches.parquet", "prompts": {}, "outputs": {}}
    for member in MEMBERS:
        fought = matches[(matches["model_a"] == member) | (matches["model_b"] == member)]["prompt_id"]
        files["prompts"][member] = root / "prompts" / f"{member}.parquet"
        write_table(prompts[prompts["prompt_id"].isin(fought)], files["prompts"][member], PROMPTS)
        files["outputs"][member] = run_infer(member, tiny_member, files, micro_splits["heldout"], root / member)
    return files


def run_infer(member: str, base: Path, files: dict, heldout: Path, out: Path, generation_shards: int = 1) -> dict:
    """One member's infer job on the iteration's ``files``: its outputs, in ``out``, by key."""
    outputs = {key: out / f"{key}.parquet" for key in ("generations", *DECODINGS, "references_0")}
    outputs["settings"] = out / "settings.json"
    infer(
        {member: files["prompts"][member]},
        files["matches"],
        heldout,
        [spec(member, base)],
        SAMPLING,
        outputs,
        evaluation=EVALUATION,
        judging=JUDGING,
        backend="hf",
        device="cpu",
        seeds={member: SEEDS[member]},
        evaluation_seeds={member: EVALUATION_SEEDS[member]},
        generation_shards=generation_shards,
    )
    return outputs


def spec(member: str, base: Path) -> ModelSpec:
    return ModelSpec(name=member, base=str(base))


def inference_files(iteration: dict, member: str) -> dict:
    """A member's infer outputs as the judge and evaluate jobs receive them (rule inputs named inference_<key>)."""
    named = {f"inference_{k}": v for k, v in iteration["outputs"][member].items() if k != "generations"}
    return inference_of({"heldout": "unrelated", **named})


def test_the_duel_answers_are_those_of_the_generate_job(iteration, tiny_member, tmp_path):
    for member in MEMBERS:
        alone = tmp_path / f"{member}.parquet"
        generate_responses(
            {member: iteration["prompts"][member]},
            alone,
            [spec(member, tiny_member)],
            SAMPLING,
            backend="hf",
            device="cpu",
            seeds={member: SEEDS[member]},
        )
        assert alone.read_bytes() == iteration["outputs"][member]["generations"].read_bytes()


def test_with_generation_shards_the_duel_answers_are_those_of_shard_0s_generate_job(
    iteration, tiny_member, micro_splits, tmp_path
):
    outputs = run_infer("ada", tiny_member, iteration, micro_splits["heldout"], tmp_path / "infer", generation_shards=2)
    alone = tmp_path / "shard_0.parquet"
    generate_responses(
        {"ada": iteration["prompts"]["ada"]},
        alone,
        [spec("ada", tiny_member)],
        SAMPLING,
        backend="hf",
        device="cpu",
        seeds={"ada": SEEDS["ada"]},
        shard=0,
        shards=2,
    )
    assert alone.read_bytes() == outputs["generations"].read_bytes()
    whole = read_table(iteration["outputs"]["ada"]["generations"], GENERATIONS)
    assert 0 < len(read_table(alone, GENERATIONS)) < len(whole)
    # the held-out answers do not depend on the generation shards
    for decoding in DECODINGS:
        assert outputs[decoding].read_bytes() == iteration["outputs"]["ada"][decoding].read_bytes()


def evaluate(member, base, heldout, out, cfg=EVALUATION, inference=None) -> bytes:
    evaluate_model(
        heldout,
        out / "eval.json",
        spec(member, base),
        cfg,
        evaluator="integer",
        iteration=0,
        backend="hf",
        device="cpu",
        seed=EVALUATION_SEEDS[member],
        answers_path=out / "answers.parquet",
        inference=inference,
    )
    return (out / "eval.json").read_bytes() + (out / "answers.parquet").read_bytes()


def test_the_evaluation_from_the_infer_jobs_answers_is_the_evaluation_that_loads_the_model(
    iteration, tiny_member, micro_splits, tmp_path, caplog
):
    heldout = micro_splits["heldout"]
    for member in MEMBERS:
        (tmp_path / member / "read").mkdir(parents=True)
        (tmp_path / member / "loaded").mkdir()
        with caplog.at_level(logging.INFO):
            caplog.clear()
            read = evaluate(
                member, tiny_member, heldout, tmp_path / member / "read", inference=inference_files(iteration, member)
            )
            assert "loading model" not in caplog.text
        assert read == evaluate(member, tiny_member, heldout, tmp_path / member / "loaded")


def test_an_evaluation_with_other_settings_loads_the_model(iteration, tiny_member, micro_splits, tmp_path, caplog):
    # evaluation.samples_per_prompt changed after the infer job ran: its sampled answers are not this evaluation's
    other = EvalConfig(samples_per_prompt=3, temperature=1.0, max_new_tokens=6, batch_size=8)
    (tmp_path / "read").mkdir()
    (tmp_path / "loaded").mkdir()
    with caplog.at_level(logging.INFO):
        read = evaluate(
            "ada", tiny_member, micro_splits["heldout"], tmp_path / "read", other, inference_files(iteration, "ada")
        )
    assert "answered the held-out prompts with other settings" in caplog.text and "loading model ada" in caplog.text
    assert read == evaluate("ada", tiny_member, micro_splits["heldout"], tmp_path / "loaded", other)


def judge(iteration, juror, base, out, judging=JUDGING, inference=None) -> bytes:
    generations = [iteration["outputs"][m]["generations"] for m in MEMBERS]
    judge_matches(
        iteration["matches"],
        generations,
        out,
        JudgeConfig.from_dict({**judging, "method": "peer"}),
        judge_name=juror,
        evaluator="integer",
        spec_dict={"name": juror, "base": str(base)},
        device="cpu",
        inference=inference,
    )
    return out.read_bytes()


def test_a_reference_judge_reading_its_own_answers_judges_as_one_that_loads_its_model(
    iteration, tiny_member, tmp_path, caplog
):
    for juror in MEMBERS:
        with caplog.at_level(logging.INFO):
            caplog.clear()
            read = judge(
                iteration,
                juror,
                tiny_member,
                tmp_path / f"{juror}_read.parquet",
                inference=inference_files(iteration, juror),
            )
            assert "loading model" not in caplog.text and "its own answers from the infer job" in caplog.text
        assert len(pd.read_parquet(tmp_path / f"{juror}_read.parquet")) == 3  # the duels it does not fight in
        assert read == judge(iteration, juror, tiny_member, tmp_path / f"{juror}_loaded.parquet")


def test_a_reference_judge_with_other_settings_loads_its_model(iteration, tiny_member, tmp_path, caplog):
    # judging.batch_size changed after the infer job ran: greedy answers may depend on the batch, so it answers anew
    other = {**JUDGING, "batch_size": 2}
    with caplog.at_level(logging.INFO):
        read = judge(iteration, "ada", tiny_member, tmp_path / "read.parquet", other, inference_files(iteration, "ada"))
    assert "loading model ada" in caplog.text
    assert read == judge(iteration, "ada", tiny_member, tmp_path / "loaded.parquet", other)


def test_inference_files_are_only_the_inputs_named_for_them():
    assert inference_of({"member": "m", "heldout": "h"}) is None
    assert inference_of({"member": "m", "inference_settings": "s", "inference_greedy": "g"}) == {
        "settings": "s",
        "greedy": "g",
    }


def _gpu_tags(dry_run: str) -> dict[tuple[str, str], int]:
    """The gpu resource of each job of a dry run, by rule and wildcards."""
    tags = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        gpu = re.search(r"resources: .*\bgpu=(\d+)", block)
        if rule and gpu:
            wildcards = re.search(r"wildcards: (.*)", block)
            tags[rule[1], wildcards[1] if wildcards else ""] = int(gpu[1])
    return tags


def test_jobs_that_read_the_infer_jobs_answers_ask_for_no_gpu(tmp_path):
    # nano's peers judging by reference, a GPU per model job: a reader asks for one only where the infer job's
    # recorded settings are not its own (its fallback then loads the model), decided when the DAG is built.
    config = yaml.safe_load(NANO.read_text())
    config["judging"]["peer_mode"] = "reference"
    config["gpus_per_job"] = 1
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    plan = Plan.from_config(load_test_config(path), root=tmp_path / "results" / config["run"])

    def tags() -> dict[tuple[str, str], int]:
        done = snakemake("--dry-run", "--configfile", path, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        return _gpu_tags(done.stdout)

    def iteration(wildcards: str) -> int:
        return int(re.search(r"\bi=(\d+)", wildcards)[1])

    before = tags()
    readers = {job: gpu for job, gpu in before.items() if job[0] in ("evaluate", "judge_by_member")}
    reading = {
        job
        for job in readers
        if iteration(job[1]) < plan.iterations and (job[0] == "evaluate" or "judge=peer" in job[1])
    }
    # an evaluation and a peer judge's job per shard, for every member and iteration that has an infer job
    assert len(reading) == len(plan.models) * plan.iterations * (1 + plan.judge_shards)
    assert {readers[job] for job in reading} == {0}
    # the last evaluation has no infer job to read from; the infer and train jobs load models
    assert {gpu for job, gpu in readers.items() if job not in reading} == {1}
    assert {gpu for (rule, _), gpu in before.items() if rule in ("infer", "train")} == {1}

    # The infer jobs of iteration 0 answered with other evaluation seeds and no reference answers: its evaluate and
    # peer judge jobs will load their model.
    for group in plan.groups:
        settings = Path(plan.path("inference_settings", i=0, group=group))
        settings.parent.mkdir(parents=True)
        write_json({"backend": "hf", "evaluation": {}, "evaluation_seeds": {}, "references": None}, settings)
    after = tags()
    changed = {job for job in before if before[job] != after[job]}
    assert changed == {job for job in reading if iteration(job[1]) == 0}
    assert {after[job] for job in changed} == {1}
