"""What a run has done: for each iteration and stage, whether its files are complete, partial, failed or missing.

Read from the run folder alone (``results/<run>``), file by file:

- **complete**: every file the workflow builds for the stage exists. Writes are atomic (``agon.files``) and
  Snakemake deletes the outputs of a job that fails, so a file that exists is whole.
- **failed**: a file is missing and a job log of the stage records a failure: ``agon.logs.log_to`` logs
  "job failed" and the traceback, and the train job (a shell command) ends its log with Python's traceback.
  A log is failed when a traceback comes after its last log record (a job that logged an error and went on is
  not). The stage names the log and the exception's line.
- **partial**: some files exist, others are missing, no log records a failure: jobs still running, killed
  mid-way, or not reached yet.
- **missing**: no file of the stage exists and no log records a failure.

Not read: Snakemake's own records of started-but-unfinished jobs (``.snakemake/incomplete`` markers or its
metadata database), which live in the directory Snakemake ran in, not in the run folder, and whose form depends
on Snakemake's version and settings; nor failures outside a job (a missing input, a scheduler error), which only
Snakemake's console output shows. A job killed mid-way (SIGKILL, out of memory) writes no failure to its log, so
its stage reads partial or missing, as one still running does.

What the run should hold (protocol, members, iterations, judges, signal scheme) comes from the run's config when
given: the run folder keeps no copy of it. Without one it is inferred from the files (``infer_plan``), which
cannot see what has not begun: iterations not yet started, a judge whose first verdicts are not yet written.
"""

from dataclasses import dataclass, field
from pathlib import Path

from agon.cli.ratings import documented_schemes, signal_scheme
from agon.layout import RunLayout
from agon.names import MEMBER_METHODS
from agon.plan import Plan

TRACEBACK = "Traceback (most recent call last):"
# Only the end of a log can say how its job ended; long training logs need not be read whole.
LOG_TAIL_BYTES = 64_000


def _parquet_models(path: Path) -> set[str]:
    """The member names in a matches table's model columns (selfplay's previous policies left out)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=["model_a", "model_b"])
    except (OSError, ValueError, KeyError):
        return set()
    names = set(table.column("model_a").to_pylist()) | set(table.column("model_b").to_pylist())
    return {n for n in names if isinstance(n, str) and "@" not in n}


def _names(folder: Path, suffix: str = "") -> set[str]:
    """Names of the entries of ``folder`` ending in ``suffix`` (without it); hidden temporaries left out."""
    if not folder.is_dir():
        return set()
    return {p.name.removesuffix(suffix) for p in folder.iterdir() if p.name.endswith(suffix) and p.name[0] != "."}


def _infer_protocol(layout: RunLayout, iterations: list[int]) -> str | None:
    logs = layout.root / "logs"
    for protocol, rule in (("debate", "debate_matches"), ("selfplay", "selfplay_matches"), ("tribe", "schedule")):
        if (logs / rule).is_dir():
            return protocol
    for i in iterations:
        if layout.file("transcripts", i=i).exists() or (layout.iteration(i) / "debate").is_dir():
            return "debate"
        if layout.file("selfplay_summary", i=i).exists() or (layout.iteration(i) / "generations" / "previous").is_dir():
            return "selfplay"
        if layout.file("matches", i=i).exists():
            return "tribe"
    return None


def infer_plan(layout: RunLayout) -> Plan:
    """The plan a run's files show, for a run whose config is not at hand (see the module doc for its limits)."""
    notes = []
    found = layout.iterations()
    begun = [i for i in found if _names(layout.iteration(i)) - {"eval"}]
    # The last iteration folder that holds only evaluations is the final models' evaluation (iter_N).
    iterations = max(begun) + 1 if begun else 0
    notes.append(f"iterations: {iterations}, the iterations begun; a config may plan more")
    protocol = _infer_protocol(layout, found)
    if protocol is None:
        protocol = "tribe"
        notes.append("protocol: tribe, assumed (no iteration has begun)")
    models: set[str] = _names(layout.root / "models") | _names(layout.root / "logs" / "embedded_member", ".log")
    embedded = set(models)
    for i in found:
        models |= _parquet_models(layout.file("matches", i=i)) | _names(layout.iteration(i) / "eval", ".json")
        models |= _names(layout.iteration(i) / "adapters") | _names(layout.iteration(i) / "generations", ".parquet")
    judges = sorted({j for i in found for j in layout.judges(i)})
    if begun and not judges:
        notes.append("judges: none found yet")
    scheme = None
    if protocol != "selfplay":
        scheme = signal_scheme(layout)
        if scheme is None:
            scheme = "sparta"
            notes.append("signal scheme: sparta, assumed (no ratings yet)")
        elif others := [s for s in documented_schemes(layout) if s != scheme]:
            rated = ", ".join(others)
            notes.append(f"signal scheme: {scheme} (also rated: {rated}), the one with a trajectory or most iterations")
    turn_folders = {t for i in found for t in _names(layout.iteration(i) / "debate") if t.startswith("turn_")}
    # An infer job's folder shows a run that loads each member once per iteration (generation.one_load).
    one_load = any((layout.iteration(i) / "inference").is_dir() for i in found)
    return Plan(
        run=layout.root.name,
        protocol=protocol,
        models=tuple(sorted(models)),
        embedded=tuple(sorted(embedded)),
        iterations=iterations,
        judges=tuple(judges),
        scheme=scheme,
        external=tuple(j for j in judges if j not in MEMBER_METHODS and j != "verifier"),
        turns=len(turn_folders),
        one_load_requested=one_load,
        notes=tuple(notes),
        root=str(layout.root),
    )


@dataclass(frozen=True)
class Stage:
    """One stage of a run: the files its jobs write (shards Snakemake deletes left out) and their log folders."""

    name: str
    iteration: int | None  # None: the run as a whole
    outputs: tuple[Path, ...]
    log_folders: tuple[str, ...]


def stages(layout: RunLayout, plan: Plan) -> list[Stage]:
    """The plan's jobs grouped into stages, in the order of a run: bootstrap; per iteration matches, generations
    (debate: speeches), judgments, ratings, pairs, adapters; eval of iterations 0..N; the rating trajectory and the
    report's figures."""
    outputs: dict[tuple[str, int | None], list[Path]] = {}
    folders: dict[tuple[str, int | None], list[str]] = {}
    for job in plan.jobs():
        key = (job.stage, job.iteration)
        outputs.setdefault(key, []).extend(layout.root / out for out in job.kept)
        folder = job.log.split("/")[0]
        if folder not in folders.setdefault(key, []):
            folders[key].append(folder)
    return [Stage(name, i, tuple(outputs.get((name, i), ())), tuple(folders[(name, i)])) for name, i in folders]


@dataclass(frozen=True)
class Failure:
    log: Path
    error: str  # the exception's line of the traceback: its type and message


@dataclass(frozen=True)
class StageStatus:
    stage: str
    iteration: int | None
    state: str
    present: int
    expected: int
    missing: tuple[Path, ...] = ()
    failures: tuple[Failure, ...] = field(default=())


def _is_record(line: str) -> bool:
    """A line that logging wrote: our formats all start with an asctime, ``YYYY-MM-DD HH:MM:SS``."""
    return len(line) >= 19 and line[4] == "-" and line[7] == "-" and line[10] == " " and line[13] == ":"


def job_failure(log: Path) -> str | None:
    """The error a job's log ends with, or None when it records no failure (see the module doc)."""
    try:
        with log.open("rb") as stream:
            stream.seek(max(0, log.stat().st_size - LOG_TAIL_BYTES))
            text = stream.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    start = text.rfind(TRACEBACK)
    if start < 0:
        return None
    after = [line for line in text[start:].splitlines()[1:] if line.strip()]
    if any(_is_record(line) for line in after):
        return None  # the job logged the error and went on
    # Frames are indented; the exception's own line is not (a message of several lines: its first).
    error = next((line for line in after if not line[0].isspace()), None)
    return error.strip() if error else "a traceback without its error line"


def stage_status(layout: RunLayout, stage: Stage) -> StageStatus:
    missing = tuple(p for p in stage.outputs if not p.exists())
    present = len(stage.outputs) - len(missing)
    failures: tuple[Failure, ...] = ()
    if missing:
        logs = (log for folder in stage.log_folders for log in layout.logs(folder, stage.iteration))
        failures = tuple(Failure(log, error) for log in logs if (error := job_failure(log)) is not None)
    if not missing:
        state = "complete"
    elif failures:
        state = "failed"
    else:
        state = "partial" if present else "missing"
    return StageStatus(stage.name, stage.iteration, state, present, len(stage.outputs), missing, failures)


def run_status(layout: RunLayout, plan: Plan) -> list[StageStatus]:
    """The status of every stage the plan builds, in the order of ``stages``."""
    return [stage_status(layout, stage) for stage in stages(layout, plan)]


def looks_like_run(folder: Path) -> bool:
    """Whether ``folder`` holds what the workflow writes into ``results/<run>``."""
    layout = RunLayout(folder)
    return bool(layout.iterations()) or any((folder / name).is_dir() for name in ("data", "models", "logs"))
