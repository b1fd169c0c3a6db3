"""The `agon` command line on a real finished run of tests/config/nano.yaml, on a copy of it made half-finished
(both in the slow lane, `pytest -m slow`, beside the kill-and-resume tests that share the run), and `agon estimate`
against Snakemake's own dry runs of the shipped configs."""

import io
import json
import logging
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agon.cli.estimate import estimate
from agon.cli.main import main
from agon.cli.status import job_failure, stages
from agon.config import load_config
from agon.layout import RunLayout
from agon.logs import log_to
from agon.plan import Plan

from .testing_utils import NANO, REPO, job_stats, start_snakemake

SCHEMA = REPO / "config" / "schema.yaml"
MODELS = ["ada", "bix", "cyr"]


def agon(*args: str | Path) -> tuple[int, str, str]:
    """``agon.cli.main`` on ``args``: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit:  # argparse: --help, usage errors
            code = exit.code
    return code, out.getvalue(), err.getvalue()


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
    # 3 members x 200 prompts x 4 samples, twice from iteration 1 (the previous policy answers too)
    assert work["answers"]["per_iteration"] == [2400, 4800, 4800]
    # C(4, 2) = 6 comparisons per prompt and member, then 4 against the previous policy
    assert work["duels"]["per_iteration"] == [3600, 6000, 6000]
    # the two members other than the policy judge each comparison, by reference (one verdict, 16 tokens at most)
    assert work["verdicts: peer (reference)"]["per_iteration"] == [7200, 12000, 12000]
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


# --- usage ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["status", "ratings", "compare", "estimate"])
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
