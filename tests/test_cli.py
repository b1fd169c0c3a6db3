"""The `agon` command line on a real finished run of tests/config/nano.yaml, on a copy of it made half-finished
(both in the slow lane, `pytest -m slow`, beside the kill-and-resume tests that share the run), and `agon estimate`
against Snakemake's own dry runs of the shipped configs."""

import importlib.metadata
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agon.cli import machine as agon_machine
from agon.cli.estimate import estimate
from agon.cli.machine import machine
from agon.cli.overrides import apply_overrides, parse_override
from agon.cli.status import job_failure, stages
from agon.cli.timing import read_run, shipped_calibration, time_estimate, units
from agon.config import load_config, load_schema
from agon.layout import RunLayout
from agon.logs import log_to
from agon.plan import Plan

from .testing_utils import NANO, REPO, agon, job_stats, start_snakemake

SCHEMA = REPO / "config" / "schema.yaml"
MODELS = ["ada", "bix", "cyr"]


def status_of(run_dir: Path, *options: str) -> dict[tuple[str, int | None], dict]:
    code, out, err = agon("status", run_dir, "--format", "json", *options)
    assert code == 0, err
    return {(s["stage"], s["iteration"]): s for s in json.loads(out)["stages"]}


# --- a finished run -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_installed_console_script_reports_the_finished_run_complete(nano_run):
    script = Path(sys.executable).parent / "agon"
    done = subprocess.run([script, "status", nano_run], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "protocol tribe, 3 models (ada, bix, cyr), 1 iteration;" in done.stdout
    assert "11 of 11 stages complete" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("options", [(), ("--config", str(NANO))], ids=["inferred", "config"])
def test_status_of_the_finished_run_lists_every_stage_complete(nano_run, options):
    found = status_of(nano_run, *options)
    expected = [("bootstrap", None), ("trajectory", None), ("report", None), ("eval", 0), ("eval", 1)]
    expected += [(s, 0) for s in ("matches", "generations", "judgments", "ratings", "pairs", "adapters")]
    assert sorted(found, key=str) == sorted(expected, key=str)
    assert {s["state"] for s in found.values()} == {"complete"}
    # splits, tokenizer, 3 members; 3 peers, the verifier, the audit and its figure, agreement
    assert found["bootstrap", None]["expected"] == 7
    assert found["judgments", 0]["expected"] == 7


@pytest.mark.slow
def test_ratings_table_is_the_signal_schemes_document_best_first(nano_run):
    document = json.loads((nano_run / "iter_0" / "ratings" / "sparta.json").read_text())
    code, out, _ = agon("ratings", nano_run, "--format", "tsv")
    assert code == 0
    table = pd.read_csv(io.StringIO(out), sep="\t")
    assert table["model"].tolist() == sorted(MODELS, key=lambda m: -document["models"][m]["rating"])
    for row in table.itertuples():
        entry = document["models"][row.model]
        assert (row.rating, row.uncertainty, row.matches) == (entry["rating"], entry["uncertainty"], entry["matches"])
        accuracy = json.loads((nano_run / "iter_0" / "eval" / f"{row.model}.json").read_text())["greedy_accuracy"]
        assert row.greedy_accuracy == accuracy
    # the same as text, with its title, and explicitly named
    code, text, _ = agon("ratings", nano_run, "--scheme", "sparta", "--iteration", "0")
    assert code == 0 and text.startswith(f"{nano_run} iteration 0: sparta ratings, best first\n")
    assert text.splitlines()[1].split() == ["model", "rating", "uncertainty", "ci_low", "ci_high", "matches",
                                            "greedy_accuracy"]  # fmt: skip
    assert [line.split()[0] for line in text.splitlines()[2:]] == table["model"].tolist()


@pytest.mark.slow
def test_compare_puts_every_scheme_side_by_side(nano_run):
    comparison = json.loads((nano_run / "iter_0" / "ratings" / "comparison.json").read_text())
    code, out, _ = agon("compare", nano_run, "--format", "tsv")
    assert code == 0
    table = pd.read_csv(io.StringIO(out), sep="\t")
    assert table["scheme"].tolist() == comparison["schemes"] and set(table["iteration"]) == {0}
    for row in table.to_dict("records"):
        scheme = row["scheme"]
        assert row["log_loss"] == pytest.approx(comparison["log_loss"][scheme])
        assert row["tau_sparta"] == pytest.approx(comparison["kendall_tau"][scheme]["sparta"])
        assert [row[f"rating_{m}"] for m in MODELS] == pytest.approx([comparison["ratings"][scheme][m] for m in MODELS])
    code, text, _ = agon("compare", nano_run)
    assert code == 0 and "7 schemes on 12 duels" in text
    assert all(scheme in text for scheme in comparison["schemes"])


@pytest.mark.slow
def test_ratings_and_compare_name_what_exists_when_asked_for_what_does_not(nano_run):
    code, out, err = agon("ratings", nano_run, "--scheme", "elo")
    assert (code, out) == (2, "")
    assert err == (
        f"agon ratings: {nano_run}: no elo ratings in any iteration; schemes rated: sparta "
        f"(rate one from the judgments on disk: snakemake [your options] {nano_run}/iter_0/ratings/elo.json)\n"
    )
    code, _, err = agon("ratings", nano_run, "--iteration", "3")
    assert code == 2 and "iter_3/ratings/sparta.json: not found; iterations with sparta ratings: 0" in err
    code, _, err = agon("compare", nano_run, "--iteration", "1")
    assert code == 2 and "iter_1/ratings/comparison.json: not found; iterations with a comparison: 0" in err
    code, _, err = agon("ratings", nano_run, "--scheme", "glicko")
    assert code == 2 and "invalid choice: 'glicko'" in err


# --- a half-finished run --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def half_run(nano_run, tmp_path_factory) -> Path:
    """The finished run, less iteration 0's adapters, one member's pairs and iteration 1's evaluations, whose job
    for ada failed (its log written by the code every job logs through)."""
    run_dir = tmp_path_factory.mktemp("half") / "results" / "nano"
    shutil.copytree(nano_run, run_dir)
    shutil.rmtree(run_dir / "iter_0" / "adapters")
    (run_dir / "iter_0" / "pairs" / "bix.parquet").unlink()
    for model in MODELS:
        (run_dir / "iter_1" / "eval" / f"{model}.json").unlink()
    with pytest.raises(RuntimeError), log_to(run_dir / "logs" / "evaluate" / "iter_1" / "ada.log"):
        raise RuntimeError("CUDA out of memory (simulated)")
    return run_dir


@pytest.mark.slow
@pytest.mark.parametrize("options", [(), ("--config", str(NANO))], ids=["inferred", "config"])
def test_status_of_a_half_finished_run_names_the_missing_and_the_failed(half_run, options):
    found = status_of(half_run, *options)
    states = {key: s["state"] for key, s in found.items()}
    assert states.pop(("adapters", 0)) == "missing"
    assert states.pop(("pairs", 0)) == "partial"
    assert states.pop(("eval", 1)) == "failed"
    assert set(states.values()) == {"complete"}
    assert found["pairs", 0]["missing"] == ["iter_0/pairs/bix.parquet"]
    assert found["adapters", 0]["missing"] == [f"iter_0/adapters/{m}" for m in MODELS]
    failed = found["eval", 1]
    assert failed["failed"] == [
        {"log": "logs/evaluate/iter_1/ada.log", "error": "RuntimeError: CUDA out of memory (simulated)"}
    ]
    assert failed["missing"] == [f"iter_1/eval/{m}.json" for m in MODELS]


@pytest.mark.slow
def test_status_text_of_a_half_finished_run(half_run):
    code, out, _ = agon("status", half_run)
    assert code == 0
    assert "8 of 11 stages complete" in out
    assert "eval (iter_1): failed, 0 of 3 files\n  failed: logs/evaluate/iter_1/ada.log: RuntimeError: CUDA out" in out
    assert "pairs (iter_0): partial, 3 of 4 files\n  missing: iter_0/pairs/bix.parquet\n" in out
    lines = out.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("stage ")))
    grid = {line.split()[0]: line.split()[1:] for line in lines[header + 1 : lines.index("", header)]}
    assert grid["pairs"] == ["partial", "3/4"] and grid["adapters"] == ["missing"]
    assert grid["eval"] == ["complete", "failed"] and grid["bootstrap"] == ["complete"]


@pytest.mark.slow
def test_ratings_and_compare_read_what_a_half_finished_run_has(half_run, nano_run):
    code, out, _ = agon("ratings", half_run)
    assert code == 0 and out == agon("ratings", nano_run)[1].replace(str(nano_run), str(half_run))
    code, out, _ = agon("compare", half_run, "--format", "json")
    assert code == 0 and [block["iteration"] for block in json.loads(out)] == [0]


# --- estimate -------------------------------------------------------------------------------------------------

SHIPPED = {
    "tribe": REPO / "config" / "config.yaml",
    "selfplay": REPO / "config" / "selfplay.yaml",
    "debate": REPO / "config" / "debate.yaml",
    "micro": REPO / "tests" / "config" / "micro.yaml",
}
# The micro config with every kind of judge job: logprob, peers in score mode, an endpoint outside the population,
# judge and generation shards (the endpoint is never called: Snakemake only plans).
EVERY_JUDGE = {
    "generation": {"samples_per_prompt": 2, "batch_size": 16, "shards": 3},
    "judging": {
        "judges": ["peer", "logprob", "verifier", "critic"],
        "signal": "peer",
        "peer_mode": "score",
        "shards": 2,
        "external": {"critic": {"method": "api", "base_url": "http://localhost:8000/v1", "model": "judge"}},
    },
}


def planned_files(output: str) -> dict[str, set[str]]:
    """The files a dry run's jobs list: their outputs, their logs, and the inputs of `all` (all_outputs())."""
    files: dict[str, set[str]] = {"output": set(), "log": set(), "all": set()}
    rule = None
    for line in output.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif rule and line.startswith(("    output: ", "    log: ", "    input: ")):
            key, paths = line.strip().split(": ", 1)
            key = "all" if rule == "all" and key == "input" else key
            if key in files:
                files[key] |= set(paths.split(", "))
    return files


@pytest.fixture(scope="module")
def configs(tmp_path_factory) -> dict[str, Path]:
    every_judge = tmp_path_factory.mktemp("configs") / "every_judge.yaml"
    every_judge.write_text(
        yaml.safe_dump({**yaml.safe_load((REPO / "tests/config/micro.yaml").read_text()), **EVERY_JUDGE})
    )
    return {**SHIPPED, "every_judge": every_judge}


@pytest.fixture(scope="module")
def dry_runs(configs, tmp_path_factory) -> dict[str, str]:
    """Snakemake's dry run of every config, all at once: what it printed."""
    runs = {
        name: start_snakemake("--dry-run", "--configfile", config, cwd=tmp_path_factory.mktemp(f"dry_{name}"))
        for name, config in configs.items()
    }
    outputs = {}
    for name, process in runs.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        outputs[name] = out
    return outputs


@pytest.mark.parametrize("name", [*SHIPPED, "every_judge"])
def test_estimated_jobs_are_those_snakemake_plans(configs, dry_runs, name):
    code, out, err = agon("estimate", configs[name], "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    planned = job_stats(dry_runs[name])
    assert {rule: c["total"] for rule, c in result["jobs"].items()} == planned
    assert result["total_jobs"] == sum(planned.values())


@pytest.mark.parametrize("name", [*SHIPPED, "every_judge"])
def test_status_expects_the_files_snakemake_plans_and_reads_every_jobs_log(configs, dry_runs, name):
    config = load_config(configs[name], SCHEMA)
    planned = planned_files(dry_runs[name])
    expected = stages(RunLayout(Path("results") / config["run"]), Plan.from_config(config))
    files = {str(path) for stage in expected for path in stage.outputs}
    # every file status waits for is a job's output, and every file `snakemake` builds by default is one of them
    assert files <= planned["output"]
    assert planned["all"] <= files
    # every job's log lies in a log folder of a stage, so its failure is seen
    folders = {folder for stage in expected for folder in stage.log_folders}
    for log in planned["log"]:
        parts = Path(log).relative_to(Path("results") / config["run"] / "logs").parts
        assert parts[0].removesuffix(".log") in folders, log


def test_judges_of_every_kind_give_their_verdicts_and_tokens(configs):
    work = estimate(load_config(configs["every_judge"], SCHEMA)).to_dict()["work"]
    # 12 duels per iteration, 2 iterations; with 3 members one peer sits outside each duel
    assert work["verdicts: peer (score)"]["total"] == 12 * 2 * 2  # both orders
    assert work["verdicts: peer (score)"]["tokens_each"] == 16  # judging.max_new_tokens
    assert work["verdicts: logprob"]["total"] == 12 * 2 * 2 and work["verdicts: logprob"]["tokens_each"] == 0
    assert work["verdicts: critic (api)"]["total"] == 12 * 2 * 2  # both orders, one request each
    assert work["verdicts: critic (api)"]["tokens_each"] == 8  # the api judge's default max_tokens
    assert work["verdicts: verifier"]["total"] == 12 * 2


@pytest.mark.slow
def test_estimated_work_is_what_the_nano_run_wrote(nano_run):
    work = estimate(load_config(NANO, SCHEMA)).to_dict()["work"]

    def rows(pattern: str) -> int:
        return sum(len(pd.read_parquet(p)) for p in nano_run.glob(pattern))

    assert work["answers"]["total"] == rows("iter_0/generations/*.parquet") == 48
    assert work["verdicts: peer (likelihood)"]["total"] == rows("iter_0/judgments/peer/*.parquet") == 12
    assert work["verdicts: verifier"]["total"] == rows("iter_0/judgments/verifier/*.parquet") == 12
    # margin 0 and a verdict in every duel: every duel made a pair, and every member trained on all of them
    assert work["training pairs (at most)"]["total"] == rows("iter_0/pairs/*.parquet") == 36
    answered = sum(
        report["greedy_answers"] + report["sampled_answers"]
        for report in map(json.loads, map(Path.read_text, nano_run.glob("iter_*/eval/*.json")))
    )
    assert work["evaluation answers"]["total"] == answered == 360


def test_estimate_counts_model_loads_per_member_and_iteration():
    config = load_config(REPO / "config" / "config.yaml", SCHEMA)
    # one load per member and iteration (the infer job); the last evaluation loads each member itself
    assert estimate(config).model_loads.per_iteration == (4, 4, 4) and estimate(config).model_loads.once == 4
    code, out, _ = agon("estimate", REPO / "config" / "config.yaml")
    assert code == 0
    assert (
        "model loads for inference (engine starts with vllm): 4 per iteration (1 per member), 4 for the last "
        "evaluation; training not counted"
    ) in out.splitlines()
    # a load per stage: generate, judge by reference, evaluate
    config["generation"]["one_load"] = False
    assert estimate(config).model_loads.per_iteration == (12, 12, 12)
    # three generation shards: a load per shard (the infer job is shard 0's), or two more per member without one_load
    config["generation"]["shards"] = 3
    assert estimate(config).model_loads.per_iteration == (20, 20, 20)
    config["generation"]["one_load"] = True
    assert estimate(config).model_loads.per_iteration == (12, 12, 12)
    config["generation"]["shards"] = 1
    # judging by likelihood loads the judge's model with or without one_load
    config["judging"]["peer_mode"] = "likelihood"
    assert estimate(config).model_loads.per_iteration == (8, 8, 8)
    # selfplay: the previous policy answers too from iteration 1
    selfplay = estimate(load_config(REPO / "config" / "selfplay.yaml", SCHEMA)).model_loads
    assert selfplay.per_iteration == (3, 6, 6) and selfplay.once == 3


def test_debate_work_counts_speeches_and_branches_and_bounds_tokens():
    config = load_config(REPO / "config" / "debate.yaml", SCHEMA)
    work = estimate(config).to_dict()["work"]
    # 120 debates x 2 rounds x 2 sides x 2 alternatives = 960 speeches per iteration, 8 tokens each at most
    assert work["debate speeches"]["per_iteration"] == [960] * 3 and work["debate speeches"]["max_tokens"] == 23040
    # each debate whole, then one branch per speech alternative: 120 x (1 + 8) duels
    assert work["duels"]["per_iteration"] == [1080] * 3
    # 3 members: the one outside the debate judges it, by likelihood (one verdict)
    assert work["verdicts: peer (likelihood)"]["per_iteration"] == [1080] * 3
    # a pair per speech (480), chosen and rejected at max_length 256, one epoch
    assert work["training pairs (at most)"]["per_iteration"] == [480] * 3
    assert work["training pairs (at most)"]["tokens_each"] == 512


def test_selfplay_work_counts_the_previous_policy_from_iteration_one():
    work = estimate(load_config(REPO / "config" / "selfplay.yaml", SCHEMA)).to_dict()["work"]
    # 3 members x 500 prompts x 4 samples, twice from iteration 1 (the previous policy answers too)
    assert work["answers"]["per_iteration"] == [6000, 12000, 12000]
    # C(4, 2) = 6 comparisons per prompt and member, then 4 against the previous policy
    assert work["duels"]["per_iteration"] == [9000, 15000, 15000]
    # the two members other than the policy judge each comparison, by reference (one verdict, 16 tokens at most)
    assert work["verdicts: peer (reference)"]["per_iteration"] == [18000, 30000, 30000]
    assert work["verdicts: peer (reference)"]["tokens_each"] == 16


def test_estimate_text_and_its_errors(tmp_path):
    code, out, _ = agon("estimate", NANO)
    assert code == 0
    assert out.startswith(f"{NANO}: protocol tribe, 3 models, 1 iteration of 12 prompts\n")
    total = estimate(load_config(NANO, SCHEMA)).total_jobs
    assert any(line.split() == ["total", str(total)] for line in out.splitlines())
    assert any(line.split() == ["evaluate", "3", "3", "6"] for line in out.splitlines())
    bad = tmp_path / "bad.yaml"
    bad.write_text("generation:\n  top_p: 2.0\n")
    code, out, err = agon("estimate", bad)
    assert (code, out) == (2, "")
    assert "config key 'generation.top_p': 2.0 is greater than the maximum of 1" in err
    assert "Traceback" not in err
    code, _, err = agon("estimate", tmp_path / "none.yaml")
    assert code == 2 and err == f"agon estimate: {tmp_path / 'none.yaml'}: config file not found\n"


# --- estimate: time -------------------------------------------------------------------------------------------

# Seconds of the synthetic nano run's jobs: bookkeeping 1 s, a member's SFT 10 s, judging and training 2 s, and
# the generating jobs 1 s of start plus 1 s per 64 units of work (answers times tokens). An infer job (one per
# member, generation.one_load) answers 12 duels x 2 duellists x 2 samples over 3 members = 16 answers of 8 tokens
# and the 20 held-out prompts 3 times (60 answers of 8 tokens): 608 units, 10.5 s. An evaluation that reads the
# infer job's answers does no model work: 1 s; the last one answers the held-out prompts itself: 480 units, 8.5 s.
SYNTHETIC_SECONDS = {"embedded_member": 10.0, "judge_by_member": 2.0, "train": 2.0}


def synthetic_run(root: Path, config: dict) -> Path:
    """A run folder holding only Snakemake benchmark records of every job of ``config``, at SYNTHETIC_SECONDS."""
    plan = Plan.from_config(config, root=root)
    for job in plan.jobs():
        seconds = SYNTHETIC_SECONDS.get(job.rule, 1.0)
        if job.rule in ("infer", "evaluate"):
            seconds = 1 + units(config, plan, job) / 64
        record = root / "benchmarks" / f"{job.log}.tsv"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(
            "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
            f"{seconds}\t0:00:01\t90.0\t300.0\t40.0\t50.0\t0.00\t0.00\t50.0\t0.5\n"
        )
    (root / "logs").mkdir()
    return root


def test_time_is_scheduled_from_a_runs_records_and_scaled_by_the_work_of_each_job(tmp_path):
    config = load_config(NANO, SCHEMA)
    run_dir = synthetic_run(tmp_path / "results" / "nano", config)
    records = read_run(run_dir, config, per_job=0.0)
    assert len(records.records) == 43
    # generating jobs: 1 s at 0 units, 8.5 s at 480, 10.5 s at 608: 1 s of start, then 1 s per 64 units
    assert records.start == pytest.approx(1.0)
    # one job at a time: every job's seconds one after another. 25 bookkeeping jobs (the verifier among them) of
    # 1 s, 3 members of 10 s, 3 infer jobs of 10.5 s, 3 evaluations of 1 s and 3 of 8.5 s, 3 judges and 3
    # trainings of 2 s
    one = time_estimate(config, records, slots=1)
    assert one.wall_seconds == one.job_seconds == pytest.approx(25 + 30 + 31.5 + 3 + 25.5 + 6 + 6)
    # the model jobs, less the evaluations that read the infer job's answers: they hold no GPU
    assert one.model_seconds == pytest.approx(30 + 31.5 + 25.5 + 6 + 6) and one.gpu_hours == 0
    # as many slots as jobs: the longest chain of inputs. Splits 1, tokenizer 1, the members 10, their infer jobs
    # 10.5, gathers 1, the judges 2, gathers 1, rate 1, pairs 1, training 2, the evaluation after it 8.5,
    # trajectory 1, a figure 1
    assert time_estimate(config, records, slots=100).wall_seconds == pytest.approx(41)
    two = time_estimate(config, records, slots=2).wall_seconds
    assert 127 / 2 <= two < 127
    # twice the generated tokens per answer: the duel answers of each infer job (128 of its 608 units) take twice
    # as long, 2 s more each; the evaluations stay
    longer = load_config(NANO, SCHEMA)
    longer["generation"]["max_new_tokens"] *= 2
    assert time_estimate(longer, records, slots=1).job_seconds == pytest.approx(127 + 6)
    # a GPU per model job: the model jobs' hours
    on_gpus = load_config(NANO, SCHEMA)
    on_gpus["gpus_per_job"] = 2
    assert time_estimate(on_gpus, records, slots=1).gpu_hours == pytest.approx(2 * 99 / 3600)


def test_estimate_times_a_config_from_a_finished_run_with_overrides(tmp_path):
    config = load_config(NANO, SCHEMA)
    run_dir = synthetic_run(tmp_path / "results" / "nano", config)
    per_job = shipped_calibration().per_job
    code, out, err = agon("estimate", NANO, "--from", run_dir, "--jobs", "1", "--format", "json")
    assert code == 0, err
    timing = json.loads(out)["time"]
    assert timing["jobs_in_parallel"] == 1 and timing["from"] == f"the benchmark records of {run_dir}"
    assert timing["wall_seconds"] == pytest.approx(127 + 43 * per_job, abs=0.1)
    # a second iteration, as snakemake --config iterations=2: 26 more jobs of iteration 1, 3 more evaluations; each
    # takes the seconds of the same member's or judge's jobs of the run. Iteration 1's evaluations now read the
    # infer job's answers (1 s, not 8.5 s); iteration 2's answer for themselves (8.5 s)
    code, out, err = agon("estimate", NANO, "--from", run_dir, "--jobs", "1", "--config", "iterations=2")
    assert code == 0, err
    assert out.startswith(f"{NANO} --config iterations=2: protocol tribe, 3 models, 2 iterations of 12 prompts\n")
    added = 17 * 1 + 3 * 10.5 + 3 * 2 + 3 * 2 + 3 * 8.5 - 3 * 7.5  # bookkeeping, infer, judges, trainings, evaluations
    minutes, seconds = divmod(round(127 + added + (43 + 29) * per_job), 60)
    assert f"  wall time  {minutes} min {seconds} s" in out.splitlines()
    assert "  GPU hours  0: model jobs ask for no GPU (device is not cuda and gpus_per_job is unset)" in out


def test_estimate_without_a_run_times_from_the_shipped_calibration():
    code, out, err = agon("estimate", REPO / "config" / "config.yaml", "--format", "json")
    assert code == 0, err
    timing = json.loads(out)["time"]
    assert timing["from"] == shipped_calibration().source
    # the default config is the calibration's (regenerate it when the default changes, docs/cli.md): its jobs take
    # their recorded seconds, two at once as on profiles/local's 2 cores
    calibration = shipped_calibration()
    jobs = Plan.from_config(load_config(REPO / "config" / "config.yaml", SCHEMA)).jobs()
    assert sorted(r.job for r in calibration.records) == sorted(job.log for job in jobs)
    assert timing["jobs_in_parallel"] == 2 and timing["notes"] == []
    recorded = sum(r.seconds for r in calibration.records) + len(jobs) * calibration.per_job
    assert timing["job_seconds"] == pytest.approx(recorded, abs=0.1)


def test_config_overrides_are_merged_as_the_workflow_merges_them():
    assert parse_override("iterations=5") == ("iterations", 5)
    assert parse_override("run=trial") == ("run", "trial")
    assert parse_override("threads=True") == ("threads", True)
    # Snakemake keeps the scalars of YAML inside a value as text; the workflow reads them as a config file would
    assert parse_override("task={prompts_per_iteration: 24}") == ("task", {"prompts_per_iteration": "24"})
    schema = load_schema(REPO / "config" / "schema.yaml")
    config = {"task": {"name": "arithmetic", "heldout_size": 200}, "iterations": 3, "models": {"ada": {}, "bix": {}}}
    overrides = ["task={heldout_size: 10}", "iterations=1", "models={eve: {base: embedded}}"]
    # a map of names replaces the file's: the population listed is the population that runs
    assert apply_overrides(config, overrides, schema) == {
        "task": {"name": "arithmetic", "heldout_size": 10},
        "iterations": 1,
        "models": {"eve": {"base": "embedded"}},
    }
    code, out, err = agon("estimate", NANO, "--config", "task={prompts_per_iteration: 24}", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["prompts_per_iteration"] == 24
    code, _, err = agon("estimate", NANO, "--config", "iterations")
    assert (code, err) == (2, "agon estimate: --config iterations: not KEY=VALUE; write e.g. --config iterations=5\n")
    code, _, err = agon("estimate", NANO, "--jobs", "0")
    assert code == 2 and err.endswith("argument --jobs: expected a number of jobs (1, 2, ...), got '0'\n")
    code, _, err = agon("estimate", NANO, "--config", "task.heldout_size=10")
    assert code == 2
    assert (
        err == "agon estimate: --config task.heldout_size=10: 'task.heldout_size' is not a config key "
        "(letters, digits, _ and -; no dots)\n"
    )


# --- accuracy -------------------------------------------------------------------------------------------------


def write_evaluation(run_dir: Path, i: int, model: str, greedy: float | None, sampled: float | None) -> None:
    """An evaluation document as agon.evaluation writes it, with the keys the accuracy table reads."""
    path = run_dir / f"iter_{i}" / "eval" / f"{model}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"model": model, "iteration": i, "greedy_accuracy": greedy, "sampled_accuracy": sampled}
    path.write_text(json.dumps({**document, "heldout_prompts": 200, "samples_per_prompt": 4, "temperature": 1.0}))


def test_accuracy_prints_the_readme_table_of_a_run_and_the_machine_it_is_printed_on(tmp_path):
    run_dir = tmp_path / "results" / "toy"
    for i, model, greedy, sampled in [
        (0, "bix", 0.71, 0.588),
        (0, "ada", 0.65, 0.486),
        (1, "ada", 0.80, 0.55),
        (1, "bix", 0.77, 0.60),
        (2, "ada", 0.82, 0.61),
    ]:
        write_evaluation(run_dir, i, model, greedy, sampled)
    (run_dir / "iter_1" / "eval" / "vs_base").mkdir()  # another document's folder, not an evaluation
    code, out, err = agon("accuracy", run_dir, "--format", "markdown")
    assert code == 0, err
    assert out == (
        f"{run_dir}: held-out accuracy (%), greedy / sampled (temperature 1, 4 samples), 200 prompts:\n\n"
        "| iteration | ada | bix | mean |\n"
        "| --- | --- | --- | --- |\n"
        "| 0 | 65.0 / 48.6 | 71.0 / 58.8 | 68.0 / 53.7 |\n"
        "| 1 | 80.0 / 55.0 | 77.0 / 60.0 | 78.5 / 57.5 |\n"
        "| 2 | 82.0 / 61.0 | - / - | - / - |\n\n"
        f"printed {date.today()} on {machine()}: the machine of this command, which is the run's only where the run "
        "ran\n"
    )
    code, out, _ = agon("accuracy", run_dir)
    assert code == 0 and out.splitlines()[1].split() == ["iteration", "ada", "bix", "mean"]
    code, out, _ = agon("accuracy", run_dir, "--format", "tsv")
    table = pd.read_csv(io.StringIO(out), sep="\t")
    assert table.values.tolist() == [
        [0, "ada", 0.65, 0.486],
        [0, "bix", 0.71, 0.588],
        [1, "ada", 0.80, 0.55],
        [1, "bix", 0.77, 0.60],
        [2, "ada", 0.82, 0.61],
    ]


def test_accuracy_of_a_task_without_checkable_answers_and_of_a_run_without_evaluations(tmp_path):
    run_dir = tmp_path / "results" / "free"
    write_evaluation(run_dir, 0, "ada", None, None)
    code, out, _ = agon("accuracy", run_dir, "--format", "markdown")
    assert code == 0 and "| 0 | - / - | - / - |\n" in out
    (tmp_path / "results" / "new" / "logs").mkdir(parents=True)
    code, out, err = agon("accuracy", tmp_path / "results" / "new")
    assert (code, out) == (2, "")
    assert err == f"agon accuracy: {tmp_path / 'results' / 'new'}: no evaluations yet (iter_<i>/eval/<model>.json)\n"
    (run_dir / "iter_0" / "eval" / "ada.json").write_text('{"model": "ada"}')
    code, _, err = agon("accuracy", run_dir)
    missing = "iteration, greedy_accuracy, sampled_accuracy, heldout_prompts, samples_per_prompt, temperature"
    assert (code, err) == (
        1,
        f"agon accuracy: {run_dir / 'iter_0' / 'eval' / 'ada.json'}: not an evaluation (no {missing})\n",
    )


def test_machine_names_the_cpu_model_of_cpuinfo_and_the_cores_this_process_may_use(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: Test\nmodel name\t: Test CPU 9000 @ 3.0GHz\n\nprocessor\t: 1\n")
    monkeypatch.setattr(agon_machine, "CPUINFO", cpuinfo)
    cores = len(os.sched_getaffinity(0))
    assert machine() == f"Test CPU 9000 @ 3.0GHz, {cores} core{'s' * (cores != 1)}"


def test_version_is_the_installed_packages():
    code, out, _ = agon("--version")
    assert (code, out) == (0, f"agon {importlib.metadata.version('agon')}\n")


def test_a_dry_run_through_the_local_profile_prints_no_empty_shell_command(tmp_path):
    """profiles/local prints shell commands: the train jobs' (a shell: rule) are printed, the script: rules' would
    read "Shell command: None" without the Snakefile's filter."""
    process = start_snakemake(
        "--dry-run", "--configfile", REPO / "config" / "config.yaml", cwd=tmp_path, profile=REPO / "profiles" / "local"
    )
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    printed = out + err
    assert "Shell command: None" not in printed
    assert job_stats(printed)["train"] == 12
    assert printed.count("-m agon.training --pairs") == 12


# --- usage ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["status", "ratings", "compare", "accuracy", "estimate", "check"])
def test_every_command_has_help(command):
    code, out, _ = agon(command, "--help")
    assert code == 0 and out.startswith(f"usage: agon {command} ")


def test_run_folder_errors_name_the_folder_to_pass(tmp_path):
    code, out, err = agon("status", tmp_path / "nowhere")
    assert (code, out) == (2, "")
    assert err == f"agon status: {tmp_path / 'nowhere'}: no such folder; pass a run folder, results/<run>\n"
    (tmp_path / "results" / "nano" / "iter_0" / "ratings").mkdir(parents=True)
    code, _, err = agon("ratings", tmp_path / "results")
    assert code == 2 and err.endswith(f"it holds the runs nano: pass one, e.g. {tmp_path / 'results' / 'nano'}\n")
    code, _, err = agon("compare", tmp_path / "results" / "nano" / "iter_0" / "ratings")
    assert code == 2 and err.endswith(f"inside a run; pass the run folder, {tmp_path / 'results' / 'nano'}\n")
    code, _, err = agon("ratings", tmp_path / "results" / "nano")
    assert code == 2 and err.endswith("no ratings yet (iter_<i>/ratings/<scheme>.json)\n")
    code, _, err = agon("status")
    assert code == 2 and "the following arguments are required: RUN_DIR" in err


# --- failed jobs ----------------------------------------------------------------------------------------------


def test_a_log_fails_when_a_traceback_ends_it(tmp_path):
    log = tmp_path / "job.log"
    with pytest.raises(ValueError), log_to(log):
        raise ValueError("bad input\nsecond line")
    assert job_failure(log) == "ValueError: bad input"
    # the train job's shell: its own records, then Python's traceback of the uncaught error
    log.write_text(
        "2026-01-01 10:00:00,000 INFO [rank 0] agon.training: training ada\n"
        "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    f()\nKeyError: 'loss'\n"
    )
    assert job_failure(log) == "KeyError: 'loss'"


def test_a_log_whose_job_went_on_after_a_traceback_is_no_failure(tmp_path):
    log = tmp_path / "job.log"
    with log_to(log):
        try:
            raise ConnectionError("endpoint busy")
        except ConnectionError:
            logging.getLogger("agon.test").exception("request failed; retrying")
        logging.getLogger("agon.test").info("retried: done")
    assert "Traceback" in log.read_text()
    assert job_failure(log) is None
    log.write_text("2026-01-01 10:00:00,000 INFO agon.x: done\n")
    assert job_failure(log) is None
    assert job_failure(tmp_path / "absent.log") is None


@pytest.mark.parametrize("protocol", ["tribe", "selfplay", "debate"])
def test_the_protocol_is_told_by_the_log_folder_of_its_matches(tmp_path, protocol):
    run_dir = tmp_path / "results" / "run"
    rule = {"tribe": "schedule", "selfplay": "selfplay_matches", "debate": "debate_matches"}[protocol]
    (run_dir / "logs" / rule).mkdir(parents=True)
    (run_dir / "iter_0").mkdir()
    code, out, _ = agon("status", run_dir, "--format", "json")
    assert code == 0 and json.loads(out)["protocol"] == protocol


def test_a_selfplay_run_has_no_scheme_to_show_and_says_where_its_win_rates_are(tmp_path):
    run_dir = tmp_path / "results" / "sp"
    (run_dir / "iter_0" / "ratings").mkdir(parents=True)
    (run_dir / "iter_0" / "ratings" / "selfplay.json").write_text('{"protocol": "selfplay", "models": {}}\n')
    for command in ("ratings", "compare"):
        code, _, err = agon(command, run_dir)
        assert code == 2 and err.endswith("its win rates are in iter_<i>/ratings/selfplay.json\n")


def test_a_document_that_is_not_a_ratings_document_is_named_without_a_traceback(tmp_path):
    ratings = tmp_path / "results" / "r" / "iter_0" / "ratings"
    ratings.mkdir(parents=True)
    (ratings / "sparta.json").write_text('{"scheme": "sparta"}\n')
    code, out, err = agon("ratings", tmp_path / "results" / "r")
    assert (code, out) == (1, "")
    assert err == f"agon ratings: {ratings / 'sparta.json'}: not a ratings document (no models)\n"
