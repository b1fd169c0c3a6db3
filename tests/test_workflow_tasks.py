"""Every dataset task through the real workflow: its fixture file in the published format -> splits -> generations
-> judgments -> pairs -> held-out evaluation, one Snakemake run per task.

The members share one tiny model built once (a 384-position context, so real-format prompts fit); training and
later iterations are the same for every task and run in the other workflow tests, so these runs stop at the
first iteration's pairs and evaluation. One run builds embedded members on a dataset and goes to the end.
Ten Snakemake runs: the slow lane (`pytest -m slow`).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from agon.contracts import DUELS, JUDGMENTS, MATCHES, PROMPTS, TRANSCRIPT, read_table
from agon.judging import read_duels
from agon.tasks import checker
from agon.tasks.evaluators import LETTERS

from . import task_fixtures as fx
from .testing_utils import build_standalone_member, snakemake

pytestmark = pytest.mark.slow

SPLITS = {"heldout_size": 6, "preference_size": 8, "prompts_per_iteration": 8}
SMALL = {
    "generation": {"samples_per_prompt": 2, "batch_size": 16, "max_new_tokens": 8},
    "evaluation": {"samples_per_prompt": 1, "batch_size": 16, "max_new_tokens": 8},
    "training": {"batch_size": 4, "lora_r": 4, "lora_alpha": 8, "max_length": 384},
}
VERIFIED = {"protocol": "selfplay", "judging": {"judges": ["verifier"], "signal": "verifier"}}


@dataclass(frozen=True)
class Case:
    write: Callable[[Path], object]  # writes the fixture under a folder
    source: str  # task.source, relative to that folder
    keys: dict  # more task keys
    evaluator: str | None
    settings: dict  # protocol, judging and the like


DEBATE = {
    "protocol": "debate",
    "judging": {"judges": ["peer", "verifier"], "signal": "peer", "peer_mode": "likelihood"},
    "debate": {"rounds": 1},
    "pairs": {"min_judges": 1},
}
BY_PEERS = {"protocol": "selfplay", "judging": {"judges": ["peer"], "signal": "peer", "peer_mode": "likelihood"}}
CASES = {
    "gsm8k": Case(lambda d: fx.write_gsm8k(d / "gsm8k.jsonl"), "gsm8k.jsonl", {}, "math", VERIFIED),
    "math": Case(lambda d: fx.write_math_tree(d / "MATH"), "MATH/train", {"math": {"levels": [1, 2, 3, 4]}}, "math",
                 VERIFIED),
    "alpaca": Case(lambda d: fx.write_alpaca(d / "alpaca_data.json"), "alpaca_data.json", {}, None, BY_PEERS),
    "truthfulqa": Case(lambda d: fx.write_truthfulqa(d / "tqa.parquet"), "tqa.parquet", {}, "choice", VERIFIED),
    "culture": Case(lambda d: fx.write_normad(d / "normad.csv"), "normad.csv",
                    {"culture": {"context": "rule_of_thumb"}}, "choice", VERIFIED),
    "knowledge_crosswords": Case(lambda d: fx.write_knowledge_crosswords(d / "kc.jsonl"), "kc.jsonl",
                                 {"knowledge_crosswords": {"with_knowledge": True}}, "choice", VERIFIED),
    "com2": Case(lambda d: fx.write_com2(d / "com2.json"), "com2.json", {}, "choice", VERIFIED),
    "quality": Case(lambda d: fx.write_quality(d / "quality.jsonl"), "quality.jsonl", {}, "choice", DEBATE),
    "custom": Case(lambda d: fx.write_custom(d / "mine.jsonl"), "mine.jsonl", {"custom": fx.CUSTOM_COLUMNS},
                   "choice", VERIFIED),
}  # fmt: skip


@pytest.fixture(scope="module")
def shared_base(tmp_path_factory) -> Path:
    """One tiny model directory (its own tokenizer and chat template) that every task's members start from."""
    import torch

    from agon.bootstrap.model import TinyModelConfig
    from agon.bootstrap.sft import MemberSFTConfig
    from agon.tasks import write_splits

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("base")
    fx.write_gsm8k(root / "gsm8k.jsonl")
    paths = {split: str(root / f"{split}.parquet") for split in ("train", "preference", "heldout")}
    write_splits(fx.task_config("gsm8k", root / "gsm8k.jsonl"), 0, paths)
    return build_standalone_member(
        paths["train"],
        root / "member",
        TinyModelConfig(hidden_size=32, intermediate_size=64, layers=1, heads=2, max_positions=384),
        MemberSFTConfig(steps=2, batch_size=8, learning_rate=5.0e-3, warmup_steps=0, target_accuracy=None),
        vocab_size=400,
        seed=1,
    )


def task_run(root: Path, name: str, base: Path | str, members: int) -> tuple[dict, Path]:
    """Write the task's fixture and config under ``root``: (the config, the config file)."""
    case = CASES[name]
    case.write(root)
    models = {m: {"base": str(base)} for m in ("ada", "bix", "cyr")[:members]}
    config = {
        "run": f"task_{name}",
        "seed": 0,
        "iterations": 1,
        "models": models,
        "task": {"name": name, "source": str(root / case.source), **SPLITS, **case.keys},
        **SMALL,
        **case.settings,
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return config, path


# Built on embedded members instead, in the run that goes to the end.
EMBEDDED_TASK = "culture"


@pytest.mark.parametrize("name", [name for name in CASES if name != EMBEDDED_TASK])
def test_each_task_runs_from_its_published_format_through_the_workflow(name, shared_base, tmp_path):
    evaluator, settings = CASES[name].evaluator, CASES[name].settings
    members = {"tribe": 2, "selfplay": 1 if evaluator else 2, "debate": 3}[settings["protocol"]]
    config, path = task_run(tmp_path, name, shared_base, members)
    iteration = f"results/{config['run']}/iter_0"
    targets = [f"{iteration}/pairs/stats.json", *(f"{iteration}/eval/{m}.json" for m in config["models"])]
    if "verifier" in config["judging"]["judges"]:
        targets.append(f"{iteration}/judgments/verifier/verifier.parquet")
    done = snakemake(*targets, "--configfile", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-5000:]
    check_first_iteration(name, config, tmp_path / "results" / config["run"])


def check_first_iteration(name: str, config: dict, results: Path) -> None:
    """The task's prompts, evaluation and pairs of iteration 0, and the verifier's scores by its evaluator."""
    evaluator, settings = CASES[name].evaluator, CASES[name].settings
    heldout = read_table(results / "data" / "heldout.parquet", PROMPTS)
    assert len(heldout) == SPLITS["heldout_size"] and heldout["prompt_id"].is_unique
    for row in heldout.itertuples():
        if evaluator == "choice":
            # the options are lettered in the prompt and the reference is one of their letters
            assert row.reference in LETTERS[: len(row.choices)]
            assert f"\n{row.reference}. {row.choices[LETTERS.index(row.reference)]}" in f"\n{row.prompt}"
        # a debate keeps the passage for its debaters; other protocols show it
        if row.background:
            assert (row.background in row.prompt) == (settings["protocol"] != "debate")
    if name == "quality":
        assert all(heldout["background"].str.len() > 0)

    for model in config["models"]:
        metrics = json.loads((results / "iter_0" / "eval" / f"{model}.json").read_text())
        assert metrics["evaluator"] == evaluator
        assert metrics["greedy_answers"] == SPLITS["heldout_size"]
        accuracy = metrics["greedy_accuracy"]
        assert accuracy is None if evaluator is None else 0.0 <= accuracy <= 1.0
    stats = json.loads((results / "iter_0" / "pairs" / "stats.json").read_text())
    assert stats["pairs"] >= 0

    if "verifier" in config["judging"]["judges"]:
        # the verifier scored every answer with the task's own evaluator
        iteration = results / "iter_0"
        duels = (
            read_duels(iteration / "matches.parquet", duels_path=iteration / "debate" / "duels.parquet")
            if settings["protocol"] == "debate"
            else read_duels(iteration / "matches.parquet", sorted((iteration / "generations").glob("*.parquet")))
        )
        verdicts = read_table(iteration / "judgments" / "verifier" / "verifier.parquet", JUDGMENTS)
        scored = verdicts.merge(duels, on="match_id")
        assert len(scored) == len(verdicts) > 0
        is_correct = checker(evaluator)
        for row in scored.itertuples():
            assert row.score_a == float(is_correct(row.answer_a, row.reference))
            assert row.score_b == float(is_correct(row.answer_b, row.reference))
        if settings["protocol"] == "debate":
            # each debate's candidates are two of the question's options, exactly one of them right
            assert (scored["score_a"] + scored["score_b"] == 1.0).all()
    if settings["protocol"] == "debate":
        # the debaters read each question's article; the judge reads only what they say
        iteration = results / "iter_0"
        matches = read_table(iteration / "matches.parquet", MATCHES).set_index("match_id")
        speeches = read_table(iteration / "transcripts.parquet", TRANSCRIPT)
        passages = matches.loc[speeches["match_id"], "background"]
        assert all(passage in p for passage, p in zip(passages, speeches["prompt"], strict=True))
        views = read_table(iteration / "debate" / "duels.parquet", DUELS)
        debates = views[views["match_id"].isin(matches.index)]
        assert len(debates) == len(matches)
        passages = matches.loc[debates["match_id"], "background"]
        assert not any(passage in p for passage, p in zip(passages, debates["prompt"], strict=True))


def test_embedded_members_build_on_a_dataset_and_the_run_finishes(tmp_path):
    """Tokenizer and SFT learn the dataset's own prompts and references; every stage runs, the report too."""
    config, path = task_run(tmp_path, EMBEDDED_TASK, "embedded", 2)
    config["embedded"] = {
        "vocab_size": 400,
        "model": {"hidden_size": 32, "intermediate_size": 64, "layers": 1, "heads": 2, "max_positions": 384},
        "sft": {"steps": 20, "batch_size": 16, "learning_rate": 5.0e-3, "warmup_steps": 2, "target_accuracy": 0.99,
                "eval_every": 10, "validation_size": 8},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    done = snakemake("--configfile", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-5000:]
    results = tmp_path / "results" / config["run"]
    check_first_iteration(EMBEDDED_TASK, config, results)
    for model in config["models"]:
        built = json.loads((results / "models" / model / "train_metrics.json").read_text())
        # the validation check scored the members' answers with the task's evaluator (choice letters)
        assert 0.0 <= built["validation_greedy_accuracy"] <= 1.0
        metrics = json.loads((results / "iter_1" / "eval" / f"{model}.json").read_text())
        assert metrics["evaluator"] == "choice" and metrics["greedy_answers"] == SPLITS["heldout_size"]
    assert (results / "report").is_dir()
