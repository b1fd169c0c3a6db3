"""Helpers shared by the tests and the benchmarks that build the same fixtures; no stage of a run needs them, so
they stay out of the installed package. The one module tests import helpers from (conftest.py holds fixtures only):
model builders, the test configs, the one Snakemake launcher, the embedded population every micro run starts from,
the report's browser check, small tables, local endpoints and tiny classifiers.

The model builders import torch, transformers and peft when called, so a test that needs none of them does not
pay for the import.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout, suppress
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

import numpy as np
import pandas as pd

from agon.debate.config import DebateConfig
from agon.debate.pairs import kept_pairs, speech_candidates

T = TypeVar("T")

if TYPE_CHECKING:
    from transformers import LlamaForSequenceClassification, PreTrainedTokenizerBase

    from agon.bootstrap.model import TinyModelConfig
    from agon.bootstrap.sft import MemberSFTConfig


def build_standalone_member(
    train_path: str | Path,
    root: str | Path,
    model_cfg: TinyModelConfig,
    sft: MemberSFTConfig,
    *,
    vocab_size: int,
    seed: int,
) -> Path:
    """One tiny member built from a task's training split alone: a tokenizer trained on the split's prompts and
    answers, then the member; returns the model directory.

    The workflow builds the embedded population in steps (a shared tokenizer, then one job per member); tests and
    benchmarks that need a real model directory, with no workflow around it, build it here in one call.
    """
    from agon.bootstrap.sft import train_member
    from agon.bootstrap.tokenizer import build_tokenizer
    from agon.contracts import PROMPTS, read_table

    root = Path(root)
    train = read_table(train_path, PROMPTS)
    texts = (f"{p} {r}" for p, r in zip(train.prompt, train.reference, strict=True))
    build_tokenizer(texts, vocab_size, root / "tok")
    train_member(train_path, root / "tok", root / "model", model_cfg, sft, seed=seed)
    return root / "model"


def random_adapter(base: str | Path, out_dir: str | Path, *, rank: int, seed: int, scale: float = 1.0) -> None:
    """Save a LoRA adapter on every linear layer of ``base`` with lora_B drawn from N(0, scale^2).

    peft starts lora_B at zero, which leaves a fresh adapter's answers equal to the base's; drawing it at random
    makes every variant answer differently, which is what a test of adapter routing or a benchmark of
    multi-adapter serving needs: a population for multi-adapter engines before any training has run.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base, trust_remote_code=False, use_safetensors=True),
        LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear"),
    )
    for name, param in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=scale)
    model.save_pretrained(out_dir)


def branch_pairs(
    matches: pd.DataFrame, transcript: pd.DataFrame, judgments: pd.DataFrame, cfg: DebateConfig
) -> pd.DataFrame:
    """Debate's training pairs straight from the speeches, transcript and branch judgments held in memory (the
    stage reads them from files: ``agon.debate.make_debate_pairs``)."""
    return kept_pairs(speech_candidates(matches, transcript, judgments, cfg))


# --- the repository and its test configs -----------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO / "config" / "schema.yaml"
CONFIGS = REPO / "tests" / "config"
# A micro run of each protocol: tiny embedded members, two iterations, a handful of prompts.
MICRO = CONFIGS / "micro.yaml"
MICRO_SELFPLAY = CONFIGS / "micro_selfplay.yaml"
MICRO_DEBATE = CONFIGS / "micro_debate.yaml"
# The SLURM test's run: two members, one iteration, the verifier judging (fewest jobs).
MICRO_SLURM = CONFIGS / "micro_slurm.yaml"
# The micro config cut to one iteration, every stage in about a minute: kill and resume, determinism, `agon`.
NANO = CONFIGS / "nano.yaml"
# The task of the unit tests' splits and tiny member (conftest's micro_splits and tiny_member).
MICRO_TASK = {
    "name": "arithmetic",
    "heldout_size": 20,
    "preference_size": 40,
    "prompts_per_iteration": 10,
    "arithmetic": {"max_a": 19, "max_b": 9, "operations": ["+", "-"]},
}


def load_test_config(path: Path) -> dict:
    """A config file as the workflow sees it: validated, every default filled in."""
    from agon.config import load_config

    return load_config(path, SCHEMA_PATH)


# --- Snakemake: the one launcher -------------------------------------------------------------------------------

# Jobs never reach a model hub; one thread per job is fastest on small CPUs.
SNAKEMAKE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
# Runs on no cluster see none (tests/slurm/no_cluster.conf says why): 2.6 s for a dry run instead of 10.8 s.
NO_CLUSTER = {"SLURM_CONF": str(REPO / "tests" / "slurm" / "no_cluster.conf")}
SLURM_PROFILE = REPO / "profiles" / "slurm"


def snakemake_command(*args: str | Path, cores: int = 2, profile: Path | None = None) -> list[str]:
    """The command line of Snakemake on this repository's workflow: on ``cores`` cores, or through ``profile``,
    which sets its own. Targets go before ``--configfile``, which takes every word after it."""
    where = ["--profile", str(profile)] if profile else ["--cores", str(cores)]
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), *where, *map(str, args)]


def start_snakemake(
    *args: str | Path,
    cwd: Path,
    cores: int = 2,
    profile: Path | None = None,
    merge_stderr: bool = False,
    own_group: bool = False,
) -> subprocess.Popen:
    """Snakemake started in ``cwd``, its output as text on pipes (stderr into stdout with ``merge_stderr``). With
    ``own_group``, in a process group of its own, which os.killpg kills at once with every job in flight, as a node
    failure would; otherwise in the tests' group, which an interrupt or a CI runner's kill reaches."""
    return subprocess.Popen(
        snakemake_command(*args, cores=cores, profile=profile),
        cwd=cwd,
        env={**os.environ, **SNAKEMAKE_ENV, **({} if profile == SLURM_PROFILE else NO_CLUSTER)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        start_new_session=own_group,
    )


def kill_tree(process: subprocess.Popen) -> None:
    """Kill a process and every process it started (Snakemake and its jobs)."""
    import psutil  # a dependency of Snakemake's

    with suppress(psutil.NoSuchProcess):
        parent = psutil.Process(process.pid)
        parent.suspend()  # so that it starts no job meanwhile
        for child in parent.children(recursive=True):
            with suppress(psutil.NoSuchProcess):
                child.kill()
        parent.kill()


# The runs of ``snakemake`` in progress, in any thread: stop_snakemake ends them.
_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()


def snakemake(
    *args: str | Path, cwd: Path, cores: int = 2, profile: Path | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    """Snakemake run to its end in ``cwd``: its exit code and what it printed. A run past ``timeout`` seconds (or a
    test interrupted meanwhile) kills Snakemake and every job it started, so a hung run never holds up CI."""
    process = start_snakemake(*args, cwd=cwd, cores=cores, profile=profile)
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException as stopped:
        kill_tree(process)
        out, err = process.communicate()
        if isinstance(stopped, subprocess.TimeoutExpired):
            raise AssertionError(f"snakemake ran past {timeout} s in {cwd}:\n{(out + err)[-5000:]}") from None
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def stop_snakemake() -> None:
    """Kill every run of ``snakemake`` in progress, in any thread, with the jobs it started."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        kill_tree(process)


def agon(*args: str | Path) -> tuple[int, str, str]:
    """``agon.cli.main`` on ``args``: (exit code, stdout, stderr)."""
    from agon.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit:  # argparse: --help, usage errors
            code = exit.code
    return code, out.getvalue(), err.getvalue()


class Once(Generic[T]):
    """``make()``'s value, made by the first call from any thread; the calls meanwhile wait for it."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._made: list[T] = []

    def __call__(self) -> T:
        with self._lock:
            if not self._made:
                self._made.append(self._make())
            return self._made[0]


def run_to_the_end(config: Path, root: Path, *args: str, cores: int = 2) -> Path:
    """``config`` run to the end in ``root`` (``args``: more options); its results folder."""
    done = snakemake(*args, "--configfile", config, cwd=root, cores=cores)
    assert done.returncode == 0, f"snakemake failed in {root}:\n{done.stderr[-5000:]}"
    return root / "results" / load_test_config(config)["run"]


def job_stats(output: str) -> dict[str, int]:
    """Rule -> jobs, from the first "Job stats" table Snakemake prints (before it runs anything), its total aside."""
    assert "Job stats:" in output, f"no job stats in Snakemake's output:\n{output[-3000:]}"
    table = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    jobs = {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)}
    jobs.pop("total", None)
    return jobs


def jobs_run(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> jobs that a Snakemake run ran (or a dry run would), the target rule ``all`` aside."""
    jobs = job_stats(result.stdout + result.stderr)
    jobs.pop("all", None)
    return jobs


# --- the embedded population, built once per test session ------------------------------------------------------

# The jobs that build a run's embedded population; a run started from a copied population runs none of them.
BOOTSTRAP_RULES = frozenset({"task_splits", "tokenizer", "embedded_member"})
# The config whose population every micro config and nano.yaml share: the same seed, task, embedded settings and
# members (copy_population checks), and a member's seed derives from the run seed and its name, not the run's.
POPULATION = MICRO
# Settings of a config that the bootstrap jobs read (besides the members' own).
BOOTSTRAP_KEYS = ("seed", "task", "embedded", "threads")


def bootstrap_files(members: list[str]) -> list[str]:
    """What the bootstrap jobs of a run with these embedded members write, relative to its results folder: the
    task splits, the tokenizer and the members, with the jobs' logs and benchmarks."""
    files = ["data", "bootstrap/tokenizer", "logs/task_splits.log", "logs/tokenizer.log"]
    files += ["benchmarks/task_splits.tsv", "benchmarks/tokenizer.tsv"]
    for member in members:
        files += [f"models/{member}", f"logs/embedded_member/{member}.log", f"benchmarks/embedded_member/{member}.tsv"]
    return files


def _embedded_members(config: dict) -> list[str]:
    from agon.names import is_embedded

    return [name for name, member in config["models"].items() if is_embedded(member)]


def build_population(root: Path) -> Path:
    """Run POPULATION's bootstrap jobs, and nothing else, in ``root`` (or copy them, kept by an earlier session:
    kept_or_made): its results folder."""
    config = load_test_config(POPULATION)
    members = [f"results/{config['run']}/models/{member}" for member in _embedded_members(config)]

    def make() -> None:
        done = snakemake(*members, "--configfile", POPULATION, cwd=root)
        assert done.returncode == 0, f"building the population failed in {root}:\n{done.stderr[-5000:]}"
        assert set(jobs_run(done)) == BOOTSTRAP_RULES, jobs_run(done)

    kept_or_made("population", POPULATION, root, members, make)
    return root / "results" / config["run"]


def copy_population(population: Path, config_path: Path, root: Path) -> None:
    """Copy the bootstrap outputs of ``population`` (POPULATION's results folder) that the run of ``config_path``
    would build into its results folder under ``root``, modification times kept, so Snakemake finds them built.

    Fails unless the run would build the same files: the same seed, task, embedded settings and threads, each of
    its embedded members one of the population's with the same settings, and, where the protocols differ (a debate
    keeps a task's background passage out of the prompts), a task without background passages.
    """
    from agon.contracts import PROMPTS, read_table

    config, source = load_test_config(config_path), load_test_config(POPULATION)
    for key in BOOTSTRAP_KEYS:
        assert config[key] == source[key], f"{config_path.name} and {POPULATION.name} differ in {key}"
    members = _embedded_members(config)
    for member in members:
        assert config["models"][member] == source["models"].get(member), f"{config_path.name}: member {member}"
    target = root / "results" / config["run"]
    for name in bootstrap_files(members):
        origin, copy = population / name, target / name
        assert origin.exists(), f"the population lacks {name}: {population}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, copy, copy_function=shutil.copy2)
        else:
            shutil.copy2(origin, copy)
    if config["protocol"] != source["protocol"]:
        for split in sorted((target / "data").glob("*.parquet")):
            backgrounds = read_table(split, PROMPTS)["background"].fillna("")
            assert (backgrounds == "").all(), f"{split} has background passages: the {config['protocol']} split differs"


def run_from_population(population: Path, config: Path, root: Path) -> Path:
    """``config`` run to the end in ``root``, starting from the copied population: its results folder. Fails if
    Snakemake rebuilt any of the copied files."""
    copy_population(population, config, root)
    done = snakemake("--configfile", config, cwd=root)
    assert done.returncode == 0, f"snakemake failed in {root}:\n{done.stderr[-5000:]}"
    rebuilt = sorted(jobs_run(done).keys() & BOOTSTRAP_RULES)
    assert not rebuilt, f"Snakemake rebuilt the copied population: {rebuilt}"
    return root / "results" / load_test_config(config)["run"]


# --- finished runs kept for a later session (CI's slow lane) ----------------------------------------------------

# A folder where sessions keep their population and finished micro runs for a later session to start from: .ci/run
# sets it, so the slow lane goes on from what the default lane made instead of making it again. Unset (the
# default), every session makes its own.
KEPT_RUNS_ENV = "AGON_TEST_RUNS"


def run_digest(config: Path) -> str:
    """A digest of everything a finished run of ``config`` follows from: the workflow, the package, the config
    files (the run's and the population's), this module, the interpreter and every installed distribution."""
    digest = hashlib.sha256()
    sources = [REPO / "Snakefile", config, POPULATION, Path(__file__)]
    for folder in ("rules", "workflow", "src/agon", "config"):
        sources += (REPO / folder).rglob("*")
    for path in sorted({p.resolve() for p in sources if p.is_file() and "__pycache__" not in p.parts}):
        name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        digest.update(f"{name}\0".encode() + path.read_bytes())
    distributions = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    digest.update("\n".join([sys.version, *distributions]).encode())
    return digest.hexdigest()[:16]


def kept_or_made(name: str, config: Path, root: Path, targets: list[str], make: Callable[[], object]) -> None:
    """``make()`` what Snakemake builds of ``config`` (``targets``, or everything) in ``root``.

    With AGON_TEST_RUNS set, what an earlier session kept there as ``name`` under the same digest is copied in
    instead, times and Snakemake's records kept, once a dry run confirms Snakemake has nothing left to do; what is
    made here is kept there, before any test adds to it. Test processes of one session (``pytest -n``) that need
    the same run make it once: the others wait for it, then copy it.
    """
    store = os.environ.get(KEPT_RUNS_ENV)
    if not store:
        make()
        return
    kept = Path(store) / f"{name}-{run_digest(config)}"
    with kept.with_name(f"{kept.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if kept.is_dir():
            shutil.copytree(kept, root, copy_function=shutil.copy2, dirs_exist_ok=True)
            plan = snakemake(*targets, "--dry-run", "--configfile", config, cwd=root)
            assert plan.returncode == 0, plan.stderr[-3000:]
            assert "Nothing to be done" in plan.stdout + plan.stderr, f"what {kept} holds is not finished"
            return
        make()
        partial = kept.with_name(f"{kept.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(root, partial, copy_function=shutil.copy2)
        partial.rename(kept)


def finished_run(config: Path, root: Path, population: Callable[[], Path]) -> Path:
    """``config`` run to the end in ``root`` from the session's population (``population()``: its results folder,
    built on first use), or copied, kept by an earlier session (kept_or_made): the run's results folder."""
    kept_or_made(config.stem, config, root, [], lambda: run_from_population(population(), config, root))
    return root / "results" / load_test_config(config)["run"]


# --- the report in a headless browser (Debian's chromium) -----------------------------------------------------
#
# Snakemake's report is a React app that carries every result as a data URI in a global ``results`` and shows one
# at a time. A copy of the report gets a probe script that shows every image result through the app itself
# (``app.setView``, what clicking a result does), waits for the ``<img>`` to decode, and writes what it saw into the
# DOM; ``--dump-dom`` reads that back. A second pass leaves the app on the held-out accuracy figure and takes a
# screenshot, kept under tests/artifacts/ with the report.

ARTIFACTS = REPO / "tests" / "artifacts"
# The figures rules/report.smk draws for every protocol (tribe and debate add ratings_<scheme>).
REPORT_FIGURES = ["accuracy", "win_rates", "training", "pairs"]

# Runs after the app has mounted: shows each image result in turn, then opens the Accuracy category on the
# accuracy figure for the screenshot. ``naturalWidth`` > 0 only once the browser decoded the PNG.
PROBE = """
<script id="agon-probe">
window.addEventListener("load", async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  for (let k = 0; k < 100 && typeof app === "undefined"; k++) await sleep(50);
  const shown = async (uri) => {
    for (let k = 0; k < 100; k++) {
      await sleep(50);
      const img = [...document.querySelectorAll("#app img")].find((i) => i.getAttribute("src") === uri);
      if (img && img.complete) return img;
    }
    return null;
  };
  const seen = {};
  for (const [path, entry] of Object.entries(results)) {
    if (!String(entry.mime_type).startsWith("image/")) continue;
    app.setView({ content: "img", contentPath: entry.data_uri });
    const img = await shown(entry.data_uri);
    seen[path] = { width: img ? img.naturalWidth : 0, height: img ? img.naturalHeight : 0,
                   caption: entry.caption || "", mime: entry.mime_type };
  }
  const accuracy = Object.keys(results).find((p) => p.endsWith("/report/accuracy.png"));
  app.showCategory("Accuracy");
  await sleep(200);
  if (accuracy) app.setView({ content: "img", contentPath: results[accuracy].data_uri });
  await sleep(200);
  const probe = document.createElement("pre");
  probe.id = "agon-probe";
  probe.style.display = "none";
  probe.textContent = JSON.stringify({ seen, categories });
  document.body.appendChild(probe);
});
</script>
"""


def chromium() -> str:
    """The browser; its absence fails the test (CI installs it: apt-get install -y chromium)."""
    import pytest

    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.fail("chromium is not installed: apt-get install -y chromium (the report test opens the report in it)")


def _browse(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        chromium(),
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
        "--virtual-time-budget=20000",
        *args,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def render_report(report_html: Path, name: str, workdir: Path) -> dict:
    """Open the report in headless chromium; return what the probe saw (``seen``: result path -> width, height,
    caption, mime; ``categories``: category -> subcategory -> paths) and keep a screenshot and the report."""
    probed = workdir / "probed.html"
    # The last </body>: the report's embedded sources contain the string too.
    head, body_end, tail = report_html.read_text().rpartition("</body>")
    assert body_end, f"{report_html}: no </body>"
    probed.write_text(head + PROBE + body_end + tail)
    dom = _browse(probed.as_uri(), workdir / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-3000:]
    match = re.search(r'<pre id="agon-probe"[^>]*>(.*?)</pre>', dom.stdout, flags=re.DOTALL)
    assert match, "the probe left no result: the report's app did not run\n" + dom.stderr[-3000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"report_{name}.png"
    shot = _browse(probed.as_uri(), workdir / "profile", f"--screenshot={screenshot}")
    assert shot.returncode == 0 and screenshot.stat().st_size > 0, shot.stderr[-3000:]
    shutil.copyfile(report_html, ARTIFACTS / f"report_{name}.html")
    print(f"report screenshot: {screenshot}")
    return json.loads(unescape(match.group(1)))


def assert_every_figure_renders(probe: dict, figures: list[str], categories: set[str]) -> None:
    """Every expected figure (path) is a result that the browser decoded, with a caption, under the categories."""
    seen = probe["seen"]
    missing = sorted(set(figures) - set(seen))
    assert not missing, f"figures missing from the report: {missing}; it has {sorted(seen)}"
    for path in figures:
        assert seen[path]["width"] > 0 and seen[path]["height"] > 0, f"{path} did not render: {seen[path]}"
        assert seen[path]["caption"].strip(), f"{path} has no caption"
    assert set(probe["categories"]) == categories


def assert_figures_drawn(results: Path, figures: list[str]) -> None:
    """Each figure (a path under the results folder) is a PNG file, ready for `snakemake --report` to embed."""
    for figure in figures:
        path = results / figure
        assert path.is_file() and path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), f"{path}: no PNG figure"


# --- small tables -----------------------------------------------------------------------------------------------

# Training settings for the tiny member: 8 pairs make 2 steps. Tests build their TrainConfig from it (agon.training
# imports TRL, which takes seconds: a test that needs no training does not pay for it here).
TINY_TRAINING = {"batch_size": 4, "lora_r": 4, "lora_alpha": 8, "max_length": 32}


def pairs_frame(n: int) -> pd.DataFrame:
    """``n`` training pairs on "What is k+2?": the right answer chosen over one more."""
    from agon.contracts import PAIRS

    return pd.DataFrame(
        {
            "prompt_id": [f"p{k}" for k in range(n)],
            "prompt": [f"What is {k}+2?" for k in range(n)],
            "chosen": [str(k + 2) for k in range(n)],
            "rejected": [str(k + 3) for k in range(n)],
            "margin": 1.0,
            "match_id": [f"m{k}" for k in range(n)],
            "chosen_model": "a",
            "rejected_model": "b",
        },
        columns=PAIRS.columns,
    )


def duels(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Duels from (prompt, answer_a, answer_b), match ids d0, d1, ... between models a and b."""
    from agon.judging.protocol import DUEL_COLUMNS

    return pd.DataFrame(
        [(f"d{i}", prompt, "", "a", "b", a, b) for i, (prompt, a, b) in enumerate(rows)], columns=DUEL_COLUMNS
    )


def generations_table(model: str, answers: dict[str, str]) -> pd.DataFrame:
    """A generations table: sample 0 holds ``answers``, sample 1 a decoy the duels must not use."""
    rows = [
        {
            "prompt_id": pid,
            "prompt": f"prompt {pid}",
            "model": model,
            "sample": sample,
            "response": text if sample == 0 else "decoy",
            "n_tokens": 1,
            "finish_reason": "stop",
            "seed": 0,
            "backend": "hf",
            "adapter": "",
        }
        for pid, text in answers.items()
        for sample in (0, 1)
    ]
    return pd.DataFrame(rows)


def matches_table(pairs: list[tuple[str, str, str]], prompts: pd.DataFrame) -> pd.DataFrame:
    """A matches table: one match per (prompt_id, model_a, model_b)."""
    from agon.contracts import MATCHES

    by_id = prompts.set_index("prompt_id")
    return pd.DataFrame(
        [
            {
                "match_id": f"{a}-{b}-{pid}",
                "round": 0,
                "prompt_id": pid,
                "prompt": by_id.at[pid, "prompt"],
                "reference": by_id.at[pid, "reference"],
                "model_a": a,
                "model_b": b,
            }
            for pid, a, b in pairs
        ],
        columns=MATCHES.columns,
    )


def matches_of(*pairs: tuple[str, str, str]) -> pd.DataFrame:
    """MATCHES rows from (match_id, model_a, model_b)."""
    return pd.DataFrame(
        {
            "match_id": [m for m, _, _ in pairs],
            "round": [0] * len(pairs),
            "prompt_id": [f"p-{m}" for m, _, _ in pairs],
            "prompt": ["What is 1+1?"] * len(pairs),
            "reference": ["2"] * len(pairs),
            "model_a": [a for _, a, _ in pairs],
            "model_b": [b for _, _, b in pairs],
        }
    )


def judgments_of(*rows: tuple[str, str, str, float | None]) -> pd.DataFrame:
    """JUDGMENTS rows from (match_id, judge, order, preference); a None preference is an invalid verdict."""
    return pd.DataFrame(
        {
            "match_id": [r[0] for r in rows],
            "judge": [r[1] for r in rows],
            "method": ["score"] * len(rows),
            "order": [r[2] for r in rows],
            "score_a": [np.nan] * len(rows),
            "score_b": [np.nan] * len(rows),
            "preference": [np.nan if r[3] is None else r[3] for r in rows],
            "raw": [""] * len(rows),
            "valid": [r[3] is not None for r in rows],
            "error": pd.Series([None if r[3] is not None else "unparsable" for r in rows], dtype="string"),
        }
    )


def verdicts_of(*duels: tuple[str, str, float]) -> pd.DataFrame:
    """Verdict rows from (model_a, model_b, d), in this order."""
    return pd.DataFrame(
        {
            "match_id": [f"m{i}" for i in range(len(duels))],
            "round": [0] * len(duels),
            "prompt_id": [f"p{i}" for i in range(len(duels))],
            "model_a": [a for a, _, _ in duels],
            "model_b": [b for _, b, _ in duels],
            "d": [d for _, _, d in duels],
            "n_judges": [1] * len(duels),
        }
    )


def close(expected):
    """Hand-worked numbers hold to the last digits, not just to pytest.approx's default 1e-6."""
    import pytest

    return pytest.approx(expected, rel=1e-12)


def through_json(document: dict) -> dict:
    """The document as the next iteration reads it back."""
    return json.loads(json.dumps(document))


# --- local endpoints --------------------------------------------------------------------------------------------


class RecordingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type[socketserver.BaseRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.connections = 0
        self.authorizations: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextmanager
def serving(handler: type[socketserver.BaseRequestHandler]) -> Iterator[RecordingServer]:
    server = RecordingServer(handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class Silent(socketserver.BaseRequestHandler):
    """Accepts the connection and never says a word: only the client's timeout ends the request."""

    def handle(self) -> None:
        self.server.connections += 1
        while self.request.recv(4096):
            pass


# --- tiny sequence classifiers: reward models and pairwise judges ----------------------------------------------

CLASSIFIER_PROMPTS = ["What is 2+3?", "Name a colour.", "What is 12-7?"]
CLASSIFIER_ANSWERS = ["5", "The answer is 5.", "six", "red", "Blue, mostly.", "5, since 12 minus 7 leaves 5"]


class Classifier(NamedTuple):
    path: Path
    model: LlamaForSequenceClassification
    tokenizer: PreTrainedTokenizerBase


def save_classifier(root: Path, *, chat: bool, num_labels: int = 1, seed: int = 0) -> Classifier:
    """A one-layer Llama classifier and a byte-level tokenizer; ``chat=False`` gives one with no pad token and
    no chat template. The saved config has no pad_token_id, so batches only work if the judge sets it."""
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from agon.bootstrap.tokenizer import train_tokenizer

    torch.set_num_threads(1)
    tokenizer = train_tokenizer(CLASSIFIER_PROMPTS + CLASSIFIER_ANSWERS, 300)
    if not chat:
        tokenizer.pad_token = None
        tokenizer.chat_template = None
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        num_labels=num_labels,
        pad_token_id=None,
    )
    model = LlamaForSequenceClassification(config).eval()
    with torch.no_grad():
        # The last hidden state is RMS-normalised and the texts all end alike: a large head keeps verdicts off ties.
        model.score.weight.normal_(0.0, 4.0)
    model.save_pretrained(root)  # safetensors, the only format transformers 5 writes
    tokenizer.save_pretrained(root)
    assert (root / "model.safetensors").is_file()
    return Classifier(root, model, tokenizer)
