"""Every documented example runs as written (issue 18): each YAML config, or fragment of one, in README.md,
config/README.md and docs/*.md is validated, preflighted and dry-run by real Snakemake; each `agon check` the docs
show prints what they show; each shell command's config files exist and validate.

How a snippet is used, decided by its content:

- One that names its `run` is a whole config file (`--configfile`). Any other is a fragment, merged into the
  embedded default of its protocol (config/config.yaml, selfplay.yaml, debate.yaml) as `--config` merges: nested
  keys added or replaced, a map of names (`models`, `judging.external`) replaced whole.
- Data a snippet reads from a local file (`data/...`) is written first, in the task's published format
  (tests/task_fixtures.py), with as many records as its splits need: the doc's reader has the file.
- A task read from the Hub cannot load offline. Its test asserts that this is the preflight's only problem, then
  checks the snippet on the same kind of records read from a local file: preflight and dry run.
- Snippets that name model directories only their reader has (a cluster's checkpoints) have the preflight's
  expected problems in PLACEHOLDERS, and the test asserts exactly those. Snakemake runs the same preflight before
  it plans, so these get no dry run; their plan is still built.
- A snippet followed by an `agon check` console block is bad input the doc shows refused: `agon check` must print
  that block's output. So must every `agon check` and `agon estimate` console block on a shipped config.
"""

from __future__ import annotations

import copy
import math
import shlex
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import takewhile
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest
import yaml
from markdown_it import MarkdownIt

from agon.cli.overrides import apply_overrides
from agon.config import load_config_file, load_schema, merge_command_line, validate_config
from agon.plan import Plan
from agon.preflight import PreflightError, run_preflight
from agon.tasks.catalog import FORMATS
from agon.tasks.sources import is_local

from . import task_fixtures as fx
from .testing_utils import REPO, SCHEMA_PATH, agon, job_stats, start_snakemake

SCHEMA = load_schema(SCHEMA_PATH)
DOCS = [REPO / "README.md", REPO / "config" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# The embedded default a fragment is merged into, by its protocol.
DEFAULTS = {"tribe": "config/config.yaml", "selfplay": "config/selfplay.yaml", "debate": "config/debate.yaml"}
SHELLS = ("bash", "sh")

# The tables below name a block by (doc, a line of it): line numbers move whenever a doc is edited above.

# YAML blocks that are no Agon config (a SLURM profile, a CI workflow), with the reason. A YAML block whose top-level
# keys are not all config keys fails unless it is listed here, so every new snippet is checked as a config.
NOT_CONFIGS: dict[tuple[str, str], str] = {}

# Snippets that the doc completes with another of its snippets: the line of the other.
COMPLETED_BY = {
    # "# models: as in section 2": the config of section 3 with the population of several instruct models
    ("docs/gpu_population.md", "run: gpu_tribe"): "smol:   {base: /shared/models/smollm2-1.7b-instruct}",
}

# Model directories and judges' checkpoints only the doc's reader has: every problem the preflight finds, in order.
PLACEHOLDERS = {
    ("config/README.md", "mine: {base: /data/ckpt/step-1000"): [
        "model mine: model directory /data/ckpt/step-1000 not found",
        "model mine: adapter directory /data/lora/a not found",
    ],
    ("docs/gpu_population.md", "math:  {base: /shared/models/qwen2.5-0.5b-instruct"): [
        "model base0: model directory /shared/models/qwen2.5-0.5b-instruct not found",
        "model math: model directory /shared/models/qwen2.5-0.5b-instruct not found",
        "model math: adapter directory /shared/adapters/qwen-math-lora not found",
        "model chat: model directory /shared/models/qwen2.5-0.5b-instruct not found",
        "model chat: adapter directory /shared/adapters/qwen-chat-lora not found",
    ],
    ("docs/gpu_population.md", "smol:   {base: /shared/models/smollm2-1.7b-instruct}"): [
        "model qwen: model directory /shared/models/qwen2.5-0.5b-instruct not found",
        "model llama: model directory /shared/models/llama-3.2-1b-instruct not found",
        "model smol: model directory /shared/models/smollm2-1.7b-instruct not found",
    ],
    ("docs/gpu_population.md", "run: gpu_tribe"): [
        "model qwen: model directory /shared/models/qwen2.5-0.5b-instruct not found",
        "model llama: model directory /shared/models/llama-3.2-1b-instruct not found",
        "model smol: model directory /shared/models/smollm2-1.7b-instruct not found",
    ],
    ("docs/judges.md", "judges: [peer, verifier, rm, ranker, gpt]"): [
        "judge rm: model directory path/or/hub-id not found",
        "judge ranker: model directory path/or/hub-id not found",
    ],
}

# Snippets whose checks take longer than the default lane allows, with the reason: the slow lane runs them.
SLOW = {
    ("docs/gpu_population.md", "run: gpu_tribe"): "2.5 million arithmetic problems: the preflight cuts them in ~30 s",
}

# `agon check FILE` of a variant of the YAML block above the console blocks: the file it varies, its task.source,
# and the 0-based record whose reference the doc says is empty ("whose 7th record has no answer").
CONSOLE_VARIANTS = {"mine_csv.yaml": ("mine.yaml", "data/sums.csv", 6)}
# The records the doc says a console example's data holds ("a selfplay run of your own on 300 records").
CONSOLE_RECORDS = {"mine.yaml": 300}

# Config files that shell commands name and the reader writes, not the repository.
USER_FILES = {"my.yaml", "my_debate.yaml", "mine.yaml"}
# Shell blocks that hold no commands to run, with the reason.
NOT_COMMANDS = {
    ("docs/cli.md", "agon check    CONFIG [--config KEY=VALUE ...] [--schema YAML]"): (
        "the commands' synopsis: placeholders in capitals"
    ),
}


# --- the docs' blocks -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced block of a doc: its language, its text, and the line of its opening fence (from 1)."""

    doc: str
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    def marked(self, table: dict) -> object:
        """The entry of ``table`` that names this block, if any."""
        return next((value for (doc, line), value in table.items() if doc == self.doc and line in self.text), None)


@cache
def blocks(doc: str) -> tuple[Block, ...]:
    tokens = MarkdownIt("commonmark").parse((REPO / doc).read_text(encoding="utf-8"))
    return tuple(Block(doc, t.map[0] + 1, t.info.strip(), t.content) for t in tokens if t.type == "fence" and t.map)


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in blocks(str(path.relative_to(REPO)))]


def blocks_with(doc: str, line: str, langs: tuple[str, ...]) -> list[Block]:
    return [b for b in blocks(doc) if b.lang in langs and line in b.text]


class Console(NamedTuple):
    """An untagged block showing `$ agon check FILE` or `$ agon estimate FILE ...` and what it prints, and the YAML
    block before it in its doc."""

    block: Block
    args: list[str]
    above: Block | None

    @property
    def file(self) -> str:
        return self.args[1]

    @property
    def shown(self) -> str:
        return self.block.text.split("\n", 1)[1]


def console_blocks() -> Iterator[Console]:
    for path in DOCS:
        above = None
        for block in blocks(str(path.relative_to(REPO))):
            if block.lang == "yaml":
                above = block
            elif block.lang == "" and block.text.startswith(("$ agon check ", "$ agon estimate ")):
                yield Console(block, shlex.split(block.text.split("\n", 1)[0])[2:], above)


CONSOLE = list(console_blocks())
# YAML blocks that a console block below runs as the reader's file (`agon check mine.yaml`): that block's test
# checks them, by what the doc shows it print.
CONSOLE_CONFIGS = {c.above for c in CONSOLE if c.file in USER_FILES}
YAML_BLOCKS = [b for b in all_blocks() if b.lang == "yaml"]
CONFIG_BLOCKS = [b for b in YAML_BLOCKS if b.marked(NOT_CONFIGS) is None and b not in CONSOLE_CONFIGS]


def test_every_yaml_block_is_a_config_or_listed_as_none():
    for block in YAML_BLOCKS:
        given = yaml.safe_load(block.text)
        is_config = isinstance(given, dict) and set(given) <= set(SCHEMA["properties"])
        assert is_config or block.marked(NOT_CONFIGS), (
            f"{block.id}: a YAML block that is no Agon config; list it in NOT_CONFIGS with the reason"
        )


def test_every_table_entry_names_one_block():
    """An entry that no longer names a block (its doc changed) would silently stop applying."""
    for table in (NOT_CONFIGS, COMPLETED_BY, PLACEHOLDERS, SLOW):
        for doc, line in table:
            assert len(blocks_with(doc, line, ("yaml",))) == 1, (doc, line)
    for (doc, _), line in COMPLETED_BY.items():
        assert len(blocks_with(doc, line, ("yaml",))) == 1, (doc, line)
    for doc, line in NOT_COMMANDS:
        assert len(blocks_with(doc, line, SHELLS)) == 1, (doc, line)
    shown = {c.file for c in CONSOLE}
    assert set(CONSOLE_VARIANTS) <= shown
    assert set(CONSOLE_RECORDS) <= shown


# --- a snippet as its reader uses it ----------------------------------------------------------------------------


def default_of(*keys: str) -> object:
    node = SCHEMA
    for key in keys:
        node = node["properties"][key]
    return node["default"]


def as_used(block: Block, root: Path) -> dict:
    """The config ``block`` stands for, read as a file is (a key given twice is refused), completed or merged as
    the doc says."""
    (root / "snippet.yaml").write_text(block.text, encoding="utf-8")
    given = load_config_file(root / "snippet.yaml")
    if completion := block.marked(COMPLETED_BY):
        (other,) = blocks_with(block.doc, completion, ("yaml",))
        given = merge_command_line(given, yaml.safe_load(other.text), SCHEMA)
    if "run" in given:
        return given
    protocol = given.get("protocol", default_of("protocol"))
    return merge_command_line(load_config_file(REPO / DEFAULTS[protocol]), given, SCHEMA)


def problems_needed(task: dict, config: dict) -> int:
    """Problems enough for every split the config cuts: held-out, preference, and train beyond SFT's validation."""
    sft = config.get("embedded", {}).get("sft", {})
    return (
        task.get("heldout_size", default_of("task", "heldout_size"))
        + task.get("preference_size", default_of("task", "preference_size"))
        + sft.get("validation_size", default_of("embedded", "sft", "validation_size"))
        + 50
    )


def custom_records(mapping: dict, n: int, empty: int | None = None) -> list[dict]:
    """``n`` records in the layout ``task.custom`` names, with integer answers; record ``empty``'s left empty."""
    records = []
    for i in range(n):
        record = {mapping["prompt"]: f"What is {i} + 1?", mapping["reference"]: "" if i == empty else str(i + 1)}
        if "id" in mapping:
            record[mapping["id"]] = f"q{i}"
        if "choices" in mapping:
            record[mapping["choices"]] = [str(i + 1), str(i + 2)]
        if "background" in mapping:
            record[mapping["background"]] = f"Passage {i}."
        record.update(dict.fromkeys(mapping.get("metadata", []), "geo"))
        records.append(record)
    return records


def write_records(path: Path, records: list[dict]) -> None:
    """Records as CSV or JSON Lines, by the file's suffix."""
    if path.suffix == ".csv":
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(records).to_csv(path, index=False)
    else:
        fx.write_jsonl(path, records)


# The tasks whose fixture writer takes the path and the number of records.
WRITERS = {
    "gsm8k": fx.write_gsm8k,
    "alpaca": fx.write_alpaca,
    "truthfulqa": fx.write_truthfulqa,
    "culture": fx.write_normad,
    "knowledge_crosswords": fx.write_knowledge_crosswords,
    "com2": fx.write_com2,
}
# A Hub task's records, written locally: the file suffix its release uses.
STAND_IN_SUFFIX = {"alpaca": ".json", "culture": ".csv"}


def write_task_data(task: dict, path: Path, problems: int) -> None:
    """At least ``problems`` problems of ``task`` in its published format at ``path``."""
    match task["name"]:
        case "math" if path.suffix == "":  # the original release's folder tree, one folder per split
            levels = task.get("math", {}).get("levels") or range(1, 6)
            fx.write_math_tree(path.parent, math.ceil(problems * 5 / len(levels)), split=path.name)
        case "math":
            fx.write_math(path, problems)
        case "quality":  # three questions per article, one and a half of them difficult
            per_article = 1.5 if task.get("quality", {}).get("hard_only") else 3
            fx.write_quality(path, math.ceil(problems / per_article) + 1)
        case "custom":
            write_records(path, custom_records(task["custom"], problems))
        case name:
            WRITERS[name](path, problems)


@dataclass(frozen=True)
class Prepared:
    """A snippet ready to check in ``root``, the reader's working directory: the config as the doc has it, the
    config that is run (written to ``path``: a Hub task's records read from a local file), and the Hub dataset."""

    root: Path
    written: dict
    config: dict
    hub: str | None

    @property
    def path(self) -> Path:
        return self.root / "config.yaml"


def prepare(block: Block, root: Path) -> Prepared:
    written = as_used(block, root)
    config, hub = written, None
    task = written.get("task", {})
    if task.get("name", default_of("task", "name")) != "arithmetic":
        source = task.get("source") or FORMATS[task["name"]].hub[0]
        if not is_local(source):
            hub, source = source, f"data/{task['name']}{STAND_IN_SUFFIX.get(task['name'], '.jsonl')}"
            config = copy.deepcopy(written)
            config["task"]["source"] = source
        assert not Path(source).is_absolute(), f"{block.id}: {source}: a data file only the reader has"
        write_task_data(task, root / source, problems_needed(task, written))
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return Prepared(root, written, config, hub)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> dict[str, Prepared]:
    return {b.id: prepare(b, tmp_path_factory.mktemp("snippet")) for b in CONFIG_BLOCKS}


@pytest.fixture(scope="module")
def dry_runs(prepared) -> dict[str, tuple[int, str, str]]:
    """Snakemake's dry run of every snippet that can have one, all started at once: exit code, stdout, stderr."""
    runs = {
        b.id: start_snakemake("--dry-run", "--configfile", prepared[b.id].path, cwd=prepared[b.id].root)
        for b in CONFIG_BLOCKS
        if b.marked(PLACEHOLDERS) is None
    }
    outputs = {}
    for name, process in runs.items():
        out, err = process.communicate(timeout=300)
        outputs[name] = (process.returncode, out, err)
    return outputs


# --- the tests --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "block", [pytest.param(b, id=b.id, marks=[pytest.mark.slow] if b.marked(SLOW) else []) for b in CONFIG_BLOCKS]
)
def test_the_snippet_validates_preflights_and_dry_runs(block, request, monkeypatch):
    snippet: Prepared = request.getfixturevalue("prepared")[block.id]
    monkeypatch.chdir(snippet.root)  # the snippet's relative paths are the reader's working directory's
    config = validate_config(copy.deepcopy(snippet.written), SCHEMA)
    plan = Plan.from_config(config)
    assert plan.jobs()
    if snippet.hub is not None:
        try:
            run_preflight(config, plan)
        except PreflightError as err:  # unless the Hugging Face cache holds the dataset
            (problem,) = err.problems
            assert problem.startswith(f"task.source: {snippet.hub!r} is neither a local file nor a loadable Hub")
            assert "OfflineModeIsEnabled" in problem, problem
        config = validate_config(copy.deepcopy(snippet.config), SCHEMA)
    if (expected := block.marked(PLACEHOLDERS)) is not None:
        with pytest.raises(PreflightError) as refused:
            run_preflight(config, plan, environment=False)  # the backend is the cluster's (agon check notes it)
        assert list(refused.value.problems) == expected
        return
    checked = run_preflight(config, plan)
    code, out, err = request.getfixturevalue("dry_runs")[block.id]
    assert code == 0, err[-3000:]
    assert f"preflight ok: {checked.summary()}" in out
    assert job_stats(out) == {**Counter(job.rule for job in plan.jobs()), "all": 1}


def as_shown(printed: str, shown: str) -> str:
    """``printed`` as the doc shows it, a line "..." standing for the lines it leaves out; ``printed`` itself where
    the doc's lines are not found in it in order, so that comparing the two shows the difference."""
    chunks = [""]
    for line in shown.splitlines(keepends=True):
        if line == "...\n":
            chunks.append("")
        else:
            chunks[-1] += line
    at = 0
    for k, chunk in enumerate(chunks):
        found = printed.find(chunk, at)
        if found < 0 or (k == 0 and found > 0):
            return printed
        at = found + len(chunk)
    return shown if at == len(printed) or not chunks[-1] else printed


@pytest.mark.parametrize("console", [pytest.param(c, id=c.block.id) for c in CONSOLE])
def test_agon_prints_what_the_doc_shows(console, tmp_path, monkeypatch):
    """The console block's first line is the command, the rest what it prints (stdout, or stderr if it fails)."""
    if (REPO / console.file).is_file():
        monkeypatch.chdir(REPO)
    else:
        monkeypatch.chdir(tmp_path)
        base, source, empty = CONSOLE_VARIANTS.get(console.file, (console.file, None, None))
        assert console.above is not None and base in CONSOLE_RECORDS, f"{console.block.id}: {base}: no YAML block above"
        config = yaml.safe_load(console.above.text)
        task = config["task"]
        task["source"] = source or task["source"]
        write_records(Path(task["source"]), custom_records(task["custom"], CONSOLE_RECORDS[base], empty))
        Path(console.file).write_text(yaml.safe_dump(config), encoding="utf-8")
    code, out, err = agon(*console.args)
    printed = out if code == 0 else err
    assert as_shown(printed, console.shown) == console.shown, f"exit code {code}\n{out}{err}"


# --- shell commands ---------------------------------------------------------------------------------------------


def commands(block: Block) -> Iterator[list[str]]:
    """Each `snakemake` and `agon` command of a shell block, as words: continuation lines joined, comments dropped,
    a chain (`&&`, `;`, `|`) cut into its commands."""
    for line in block.text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token not in ("&&", "||", ";", "|"):
                words.append(token)
                continue
            if words and words[0] in ("snakemake", "agon"):
                yield words
            words = []


class Named(NamedTuple):
    """What a command names: config files, `--config` entries, profiles, targets under results/."""

    files: list[str]
    overrides: list[str]
    profiles: list[str]
    targets: list[str]


def named(words: list[str]) -> Named:
    found = Named([], [], [], [w for w in words if w.startswith("results/")])
    if words[0] == "agon" and words[1] in ("check", "estimate"):
        found.files.append(words[2])
    for k, word in enumerate(words):
        if word in ("--configfile", "--configfiles"):  # takes every word up to the next option
            found.files.extend(takewhile(lambda w: not w.startswith("-"), words[k + 1 :]))
        elif word in ("--config", "-C"):
            found.overrides.extend(takewhile(lambda w: not w.startswith("-"), words[k + 1 :]))
        elif word == "--profile":
            found.profiles.append(words[k + 1])
    return found


SHELL_BLOCKS = [b for b in all_blocks() if b.lang in SHELLS and any(commands(b)) and b.marked(NOT_COMMANDS) is None]


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in SHELL_BLOCKS])
def test_the_shell_commands_name_configs_that_exist_and_validate(block):
    """Each config file a command names exists and validates with the command's --config entries, each profile
    exists, and a target under results/ lies in the run's folder."""
    for words in commands(block):
        command = " ".join(words)
        files, overrides, profiles, targets = named(words)
        for profile in profiles:
            assert (REPO / profile / "config.yaml").is_file(), f"{block.id}: {command}: no profile {profile}"
            settings = yaml.safe_load((REPO / profile / "config.yaml").read_text())
            if not files and "configfile" in settings:  # --configfile replaces the profile's
                files = [settings["configfile"]]
        for file in files or [None]:  # no config file: the schema's defaults
            if file in USER_FILES:
                continue
            assert file is None or (REPO / file).is_file(), f"{block.id}: {command}: {file} not found"
            config = load_config_file(REPO / file) if file else {}
            config = validate_config(apply_overrides(config, overrides, SCHEMA), SCHEMA)
            for target in targets:
                assert Path(target).parts[1] == config["run"], f"{block.id}: {command}: {target} is not run {file}"
