"""The ``agon`` command line: a run's status, ratings, scheme comparison and accuracy table, and what a config
implies (jobs, work, time) and whether its jobs will find what they need (check).

Parsing and printing only; the answers come from ``agon.cli.status``, ``agon.cli.ratings``, ``agon.cli.accuracy``,
``agon.cli.estimate``, ``agon.cli.timing`` and ``agon.preflight``. docs/cli.md shows every command on a real run.

Exit codes: 0 done; 2 bad usage (argparse's own code), a run folder that is missing or is not one, a config that
does not validate or fails the preflight, or a scheme or iteration the run does not hold; 1 a file of the run that
cannot be read.
"""

import argparse
import importlib.metadata
import json
import math
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

import agon
from agon.cli.accuracy import accuracy_grid, markdown_table, read_accuracy
from agon.cli.estimate import Count, Estimate, estimate
from agon.cli.machine import machine
from agon.cli.overrides import apply_overrides
from agon.cli.ratings import (
    RunDataError,
    comparison_iterations,
    comparison_metrics,
    comparison_ratings,
    last_rated_iteration,
    ratings_table,
    read_comparison,
    signal_scheme,
)
from agon.cli.status import StageStatus, infer_plan, looks_like_run, run_status
from agon.cli.timing import TimeEstimate, read_run, shipped_calibration, time_estimate
from agon.config import ConfigError, load_config_file, load_schema, validate_config
from agon.layout import ITERATION_DIR, RunLayout
from agon.plan import Plan
from agon.preflight import PreflightError, backend_problems, run_preflight
from agon.ratings import SCHEMES

# The schema beside the package in the repository it is installed from (pip install -e .), as the workflow reads it.
REPOSITORY = Path(agon.__file__).resolve().parents[2]
SCHEMA = REPOSITORY / "config" / "schema.yaml"
# The local profile, whose cores set how many jobs `agon estimate` runs at once by default.
LOCAL_PROFILE = REPOSITORY / "profiles" / "local" / "config.yaml"
# Missing files listed per unfinished stage before "... and N more".
MAX_LISTED = 8


class UsageError(Exception):
    """What the user asked for cannot be done as asked: exit code 2, the message on stderr."""


# --- inputs ---------------------------------------------------------------------------------------------------


def _run_layout(path: str) -> RunLayout:
    folder = Path(path)
    if not folder.exists():
        raise UsageError(f"{path}: no such folder; pass a run folder, results/<run>")
    if not folder.is_dir():
        raise UsageError(f"{path}: not a folder; pass a run folder, results/<run>")
    if looks_like_run(folder):
        return RunLayout(folder)
    parts = folder.parts if any(ITERATION_DIR.fullmatch(p) for p in folder.parts) else folder.resolve().parts
    inside = [k for k, part in enumerate(parts) if ITERATION_DIR.fullmatch(part)]
    if inside:
        raise UsageError(f"{path}: inside a run; pass the run folder, {Path(*parts[: inside[-1]])}")
    runs = sorted(p.name for p in folder.iterdir() if p.is_dir() and looks_like_run(p))
    hint = f"; it holds the runs {', '.join(runs)}: pass one, e.g. {folder / runs[0]}" if runs else ""
    raise UsageError(f"{path}: not a run folder (no data/, models/, logs/ or iter_<i>/ in it){hint}")


def _config(path: str, schema: str | None, overrides: Sequence[str] = ()) -> dict:
    """The validated config of a file, with ``--config`` overrides merged in as the workflow merges them."""
    schema_path = Path(schema) if schema else SCHEMA
    if not schema_path.is_file():
        raise UsageError(f"{schema_path}: config schema not found; pass --schema config/schema.yaml")
    try:
        schema_doc = load_schema(schema_path)
        return validate_config(apply_overrides(load_config_file(path), overrides, schema_doc), schema_doc)
    except ConfigError as err:
        raise UsageError(str(err)) from None


def _plan(layout: RunLayout, args: argparse.Namespace) -> Plan:
    if not args.config:
        return infer_plan(layout)
    config = _config(args.config, args.schema)
    if config["run"] != layout.root.name:
        sys.stderr.write(f"agon: warning: {args.config} is run {config['run']!r}, the folder is {layout.root.name!r}\n")
    return Plan.from_config(config, root=layout.root)


# --- tables ---------------------------------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _cell(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned: the first to the left, the others to the right (numbers)."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        parts = [str(first).ljust(widths[0]), *(str(c).rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)]) + "\n"


def _frame_text(frame: pd.DataFrame, digits: dict[str, int] | None = None) -> str:
    digits = digits or {}
    rows = [
        [_cell(v, digits.get(c, 2)) for c, v in zip(frame.columns, row, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    return _table(list(frame.columns), rows)


def _tsv(frame: pd.DataFrame) -> str:
    return frame.to_csv(sep="\t", index=False, na_rep="")


def _json(obj: object) -> str:
    return json.dumps(obj, indent=2, default=_jsonable) + "\n"


def _jsonable(value: object) -> object:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


# --- status ---------------------------------------------------------------------------------------------------


def _where(status: StageStatus) -> str:
    return "run" if status.iteration is None else f"iter_{status.iteration}"


def _state_cell(status: StageStatus) -> str:
    return f"partial {status.present}/{status.expected}" if status.state == "partial" else status.state


def _status_text(path: str, layout: RunLayout, plan: Plan, statuses: list[StageStatus], inferred: bool) -> str:
    source = "inferred from its files (pass --config for the plan of the run's config)" if inferred else "from --config"
    lines = [
        f"{path}: protocol {plan.protocol}, {_plural(len(plan.models), 'model')} "
        f"({', '.join(plan.models) or 'none found'}), {_plural(plan.iterations, 'iteration')}; plan {source}",
        *(f"  {note}" for note in plan.notes),
        "",
    ]
    columns = ["run", *(f"iter_{i}" for i in range(plan.iterations + 1))]
    grid: dict[str, dict[str, str]] = {}
    for status in statuses:
        grid.setdefault(status.stage, {})[_where(status)] = _state_cell(status)
    rows = [[stage, *(cells.get(c, "") for c in columns)] for stage, cells in grid.items()]
    widths = [max(len(r[k]) for r in [["stage", *columns], *rows]) for k in range(len(columns) + 1)]
    for row in [["stage", *columns], *rows]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    unfinished = [s for s in statuses if s.state != "complete"]
    complete = len(statuses) - len(unfinished)
    lines += ["", f"{complete} of {len(statuses)} stages complete"]
    for status in unfinished:
        lines.append(f"{status.stage} ({_where(status)}): {status.state}, {status.present} of {status.expected} files")
        for failure in status.failures:
            lines.append(f"  failed: {failure.log.relative_to(layout.root)}: {failure.error}")
        for missing in status.missing[:MAX_LISTED]:
            lines.append(f"  missing: {missing.relative_to(layout.root)}")
        if len(status.missing) > MAX_LISTED:
            lines.append(f"  ... and {len(status.missing) - MAX_LISTED} more")
    return "\n".join(lines) + "\n"


def _status_record(layout: RunLayout, status: StageStatus) -> dict:
    return {
        "stage": status.stage,
        "iteration": status.iteration,
        "state": status.state,
        "present": status.present,
        "expected": status.expected,
        "missing": [str(p.relative_to(layout.root)) for p in status.missing],
        "failed": [{"log": str(f.log.relative_to(layout.root)), "error": f.error} for f in status.failures],
    }


def cmd_status(args: argparse.Namespace) -> str:
    layout = _run_layout(args.run_dir)
    plan = _plan(layout, args)
    statuses = run_status(layout, plan)
    match args.format:
        case "json":
            return _json(
                {
                    "run": str(layout.root),
                    "protocol": plan.protocol,
                    "models": list(plan.models),
                    "iterations": plan.iterations,
                    "plan": "inferred" if not args.config else "config",
                    "notes": list(plan.notes),
                    "stages": [_status_record(layout, s) for s in statuses],
                }
            )
        case "tsv":
            records = [_status_record(layout, s) for s in statuses]
            frame = (
                pd.DataFrame(records)
                .astype({"iteration": "Int64"})
                .assign(
                    missing=lambda f: f["missing"].map(",".join),
                    failed=lambda f: f["failed"].map(lambda fs: ",".join(x["log"] for x in fs)),
                )
            )
            return _tsv(frame)
    return _status_text(args.run_dir, layout, plan, statuses, inferred=not args.config)


# --- ratings --------------------------------------------------------------------------------------------------


def _signal(layout: RunLayout, args: argparse.Namespace) -> str | None:
    """The run's signal scheme: its config's when --config is given, else the one its files show."""
    if args.config:
        config = _config(args.config, args.schema)
        return None if config["protocol"] == "selfplay" else config["rating"]["scheme"]
    return signal_scheme(layout)


def _selfplay_hint(layout: RunLayout) -> str:
    if any(layout.file("selfplay_summary", i=i).is_file() for i in layout.iterations()):
        return "; a selfplay run rates no scheme: its win rates are in iter_<i>/ratings/selfplay.json"
    return ""


def _scheme(layout: RunLayout, args: argparse.Namespace) -> str:
    scheme = args.scheme or _signal(layout, args)
    if scheme is None:
        raise RunDataError(f"{layout.root}: no ratings yet (iter_<i>/ratings/<scheme>.json){_selfplay_hint(layout)}")
    return scheme


def cmd_ratings(args: argparse.Namespace) -> str:
    layout = _run_layout(args.run_dir)
    scheme = _scheme(layout, args)
    iteration = last_rated_iteration(layout, scheme) if args.iteration is None else args.iteration
    table = ratings_table(layout, scheme, iteration)
    match args.format:
        case "json":
            return _json({"run": str(layout.root), "scheme": scheme, "iteration": iteration, "models": _records(table)})
        case "tsv":
            return _tsv(table)
    title = f"{args.run_dir} iteration {iteration}: {scheme} ratings, best first\n"
    return title + _frame_text(table, {"greedy_accuracy": 3})


# --- compare --------------------------------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> str:
    layout = _run_layout(args.run_dir)
    iterations = comparison_iterations(layout) if args.iteration is None else [args.iteration]
    if not iterations:
        raise RunDataError(
            f"{layout.root}: no scheme comparison yet (iter_<i>/ratings/comparison.json){_selfplay_hint(layout)}"
        )
    reference = _signal(layout, args)
    blocks = []
    for i in iterations:
        comparison = read_comparison(layout, i)
        blocks.append((i, comparison, comparison_metrics(comparison, reference), comparison_ratings(comparison)))
    match args.format:
        case "json":
            return _json(
                [
                    {
                        "iteration": i,
                        "duels": c["duels"],
                        "test_duels": c["test_duels"],
                        "schemes": _records(m),
                        "ratings": _records(r),
                    }
                    for i, c, m, r in blocks
                ]
            )
        case "tsv":
            frames = []
            for i, _, metrics, ratings in blocks:
                by_scheme = ratings.set_index("model").T.add_prefix("rating_")
                frames.append(metrics.join(by_scheme, on="scheme").assign(iteration=i))
            frame = pd.concat(frames, ignore_index=True)
            return _tsv(frame[["iteration", *[c for c in frame.columns if c != "iteration"]]])
    text = []
    for i, comparison, metrics, ratings in blocks:
        text.append(
            f"{args.run_dir} iteration {i}: {len(comparison['schemes'])} schemes on {comparison['duels']} duels, "
            f"{comparison['test_duels']} held out for log-loss and accuracy"
        )
        text.append(_frame_text(metrics, {"log_loss": 3, "accuracy": 3}))
        text.append(f"ratings on all {comparison['duels']} duels (one scale per scheme)")
        text.append(_frame_text(ratings))
    return "\n".join(text)


# --- estimate -------------------------------------------------------------------------------------------------


def _per_iteration(count: Count) -> str:
    values = count.per_iteration
    if not values or not any(values):
        return "-"
    if len(set(values)) == 1:
        return str(values[0])
    return ", ".join(map(str, values))


def _estimate_text(path: str, result: Estimate) -> str:
    lines = [
        f"{path}: protocol {result.protocol}, {_plural(result.models, 'model')}, "
        f"{_plural(result.iterations, 'iteration')} of {_plural(result.prompts_per_iteration, 'prompt')}",
        "",
    ]
    rows = [[c.name, str(c.once or "-"), _per_iteration(c), str(c.total)] for c in result.jobs]
    rows.append(["total", "", "", str(result.total_jobs)])
    lines.append(_table(["jobs", "once", "per iteration", "total"], rows))
    rows = [
        [
            w.name,
            str(w.once or "-"),
            _per_iteration(w),
            str(w.total),
            str(w.tokens_each or "-"),
            str(w.max_tokens or "-"),
        ]
        for w in result.work
    ]
    lines.append(_table(["model work", "once", "per iteration", "total", "tokens each", "tokens at most"], rows))
    lines.append(
        "tokens: generated per answer or verdict (max_new_tokens), prompts not counted; per training pair, chosen and "
        "rejected at training.max_length, every epoch"
    )
    lines.append(_loads_text(result.model_loads, result.models))
    return "\n".join(lines) + "\n"


def _loads_text(loads: Count, models: int) -> str:
    """Inference model loads (engine starts with vLLM) per iteration and per member, as agon.cli.estimate counts."""
    counts = loads.per_iteration if len(set(loads.per_iteration)) > 1 else loads.per_iteration[:1]
    each = ", ".join(map(str, counts)) or "-"
    per_member = ", ".join(f"{n / models:.2g}" for n in counts) or "-"
    return (
        f"model loads for inference (engine starts with vllm): {each} per iteration ({per_member} per member), "
        f"{loads.once} for the last evaluation; training not counted"
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _time_text(timing: TimeEstimate) -> str:
    if timing.gpus_per_job:
        gpus = (
            f"{timing.gpu_hours:.2f}: {_plural(timing.gpus_per_job, 'GPU')} per model job for "
            f"{timing.model_seconds / 3600:.2f} h of model jobs, at the records' speed"
        )
    else:
        gpus = "0: model jobs ask for no GPU (device is not cuda and gpus_per_job is unset)"
    lines = [
        f"time with {_plural(timing.slots, 'job')} at once (--jobs), each job's seconds from {timing.source}:",
        f"  wall time  {_duration(timing.wall_seconds)}",
        f"  job time   {_duration(timing.job_seconds)}, model jobs {_duration(timing.model_seconds)}",
        f"  GPU hours  {gpus}",
        *(f"  note: {note}" for note in timing.notes),
    ]
    return "\n".join(lines) + "\n"


def _local_slots(config: dict) -> int:
    """Jobs at once under profiles/local: its cores over the config's threads per model job (1 without it)."""
    if not LOCAL_PROFILE.is_file():
        return 1
    cores = yaml.safe_load(LOCAL_PROFILE.read_text()).get("cores", 1)
    return max(1, int(cores) // config["threads"])


def cmd_estimate(args: argparse.Namespace) -> str:
    config = _config(args.config_file, args.schema, args.overrides)
    result = estimate(config)
    if args.from_run:
        layout = _run_layout(args.from_run)
        run_config = _config(args.from_config or args.config_file, args.schema)
        calibration = read_run(layout.root, run_config, per_job=shipped_calibration().per_job)
    else:
        calibration = shipped_calibration()
    timing = time_estimate(config, calibration, args.jobs or _local_slots(config))
    if args.format == "json":
        return _json({**result.to_dict(), "time": timing.to_dict()})
    title = _title(args)
    return _estimate_text(title, result) + "\n" + _time_text(timing)


# --- accuracy -------------------------------------------------------------------------------------------------


def cmd_accuracy(args: argparse.Namespace) -> str:
    layout = _run_layout(args.run_dir)
    accuracy = read_accuracy(layout)
    printed = f"printed {date.today()} on {machine()}"
    match args.format:
        case "json":
            return _json(
                {
                    "run": str(layout.root),
                    "heldout_prompts": accuracy.heldout,
                    "samples_per_prompt": accuracy.samples,
                    "temperature": accuracy.temperature,
                    "printed": printed,
                    "evaluations": _records(accuracy.rows),
                }
            )
        case "tsv":
            return _tsv(accuracy.rows)
    header, rows = accuracy_grid(accuracy)
    about = (
        f"{args.run_dir}: held-out accuracy (%), greedy / sampled (temperature {accuracy.temperature:g}, "
        f"{_plural(accuracy.samples, 'sample')}), {accuracy.heldout} prompts"
    )
    machine_line = f"{printed}: the machine of this command, which is the run's only where the run ran"
    if args.format == "markdown":
        return f"{about}:\n\n{markdown_table(header, rows)}\n{machine_line}\n"
    return f"{about}\n{_table(header, rows)}{machine_line}\n"


# --- check ----------------------------------------------------------------------------------------------------


def _title(args: argparse.Namespace) -> str:
    """The config file and its overrides, as the command line named them."""
    return " ".join([args.config_file, *(f"--config {entry}" for entry in args.overrides)])


def cmd_check(args: argparse.Namespace) -> str:
    config = _config(args.config_file, args.schema, args.overrides)
    plan = Plan.from_config(config)
    try:
        # This machine's packages are not the jobs' on a cluster: a missing vLLM is a note here, an error to the
        # workflow.
        result = run_preflight(config, plan, environment=False)
    except PreflightError as err:
        raise UsageError(str(err)) from None
    lines = [
        f"{_title(args)}: ok: protocol {plan.protocol}, {_plural(len(plan.models), 'model')}, "
        f"{_plural(plan.iterations, 'iteration')}, {_plural(len(plan.jobs()), 'job')}; {result.summary()}",
        *(f"note: {problem}" for problem in backend_problems(config)),
    ]
    return "\n".join(lines) + "\n"


# --- parser ---------------------------------------------------------------------------------------------------


def _add_overrides(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--config",
        dest="overrides",
        metavar="KEY=VALUE",
        nargs="+",
        default=[],
        help="overrides merged into CONFIG as the workflow merges snakemake --config, e.g. --config iterations=5",
    )


def _iteration(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected an iteration number (0, 1, ...), got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a number of jobs (1, 2, ...), got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agon",
        description="Look into Agon runs (results/<run>) and into what a config implies before it runs.",
        epilog="docs/cli.md shows every command on a real run.",
    )
    parser.add_argument("--version", action="version", version=f"agon {importlib.metadata.version('agon')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def run_command(
        name: str,
        help_text: str,
        description: str,
        formats: tuple[str, ...] = ("text", "tsv", "json"),
        config: bool = True,
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=description)
        sub.add_argument("run_dir", metavar="RUN_DIR", help="the run folder, results/<run>")
        if config:
            sub.add_argument(
                "--config",
                metavar="YAML",
                help="the run's config file: the plan and signal scheme from it rather than inferred from the files",
            )
            sub.add_argument("--schema", metavar="YAML", help=f"the config schema (default: {SCHEMA})")
        sub.add_argument("--format", choices=formats, default=formats[0], help="output format")
        return sub

    status = run_command(
        "status",
        "which iterations and stages are complete, partial, failed or missing",
        "Per iteration and stage: complete (every file there), partial, failed (a job's log ends in an error) or "
        "missing. Without --config the plan is inferred from the run's files, which cannot show what has not "
        "begun (later iterations, a judge not yet started).",
    )
    status.set_defaults(handler=cmd_status)
    ratings = run_command(
        "ratings",
        "one scheme's ratings of one iteration, as a table",
        "The models' ratings under one scheme after one iteration, best first: rating, uncertainty, interval, "
        "duels played, held-out greedy accuracy.",
    )
    ratings.add_argument(
        "--scheme",
        choices=SCHEMES,
        help="rating scheme (default: the run's signal scheme: --config's, or the one rated)",
    )
    ratings.add_argument(
        "--iteration", type=_iteration, help="iteration (default: the last one with ratings of the scheme)"
    )
    ratings.set_defaults(handler=cmd_ratings)
    compare = run_command(
        "compare",
        "the rating schemes side by side (iter_<i>/ratings/comparison.json)",
        "Every rating scheme on the same duels of each iteration: held-out log-loss and accuracy, CI separability, "
        "Kendall tau with the signal scheme, and each scheme's ratings.",
    )
    compare.add_argument("--iteration", type=_iteration, help="only this iteration (default: every compared one)")
    compare.set_defaults(handler=cmd_compare)
    accuracy = run_command(
        "accuracy",
        "held-out accuracy per iteration and member, greedy / sampled, as a table",
        "Held-out accuracy of every member after every iteration (iter_<i>/eval/<model>.json), greedy / sampled "
        "in percent, with the members' mean; --format markdown prints the README's table. The table names the "
        "machine it is printed on: the figures hold for the machine the run ran on.",
        formats=("text", "markdown", "tsv", "json"),
        config=False,
    )
    accuracy.set_defaults(handler=cmd_accuracy)
    est = commands.add_parser(
        "estimate",
        help="jobs, generations, judge verdicts, tokens and time a config implies",
        description="Count what a config implies before anything runs: jobs per rule (as Snakemake plans them), "
        "answers, judge verdicts, evaluation answers and training pairs, with upper bounds on their tokens; and "
        "the wall time, job time and GPU hours with --jobs jobs at once, each job's seconds from a finished run's "
        "benchmark records (--from), else from the calibration shipped with agon (the default run on the "
        "project's 2-core CPU machine), scaled by the work each job does.",
    )
    est.add_argument("config_file", metavar="CONFIG", help="a config YAML, as given to snakemake --configfile")
    _add_overrides(est)
    est.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="jobs at once (default: profiles/local's cores over the config's threads)",
    )
    est.add_argument(
        "--from",
        dest="from_run",
        metavar="RUN_DIR",
        help="time the jobs from this finished run's benchmark records (default: the shipped calibration)",
    )
    est.add_argument(
        "--from-config",
        metavar="YAML",
        help="the config the --from run ran (default: CONFIG, without --config overrides)",
    )
    est.add_argument("--schema", metavar="YAML", help=f"the config schema (default: {SCHEMA})")
    est.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    est.set_defaults(handler=cmd_estimate)
    check = commands.add_parser(
        "check",
        help="validate a config and check what its jobs will need, in seconds",
        description="Validate a config, then run the workflow's preflight on it without loading weights: the task's "
        "data maps to prompts and fills every split, local models and adapters are loadable safetensors "
        "directories whose chat template renders. Prints ok with a summary, or every problem, one line each.",
    )
    check.add_argument("config_file", metavar="CONFIG", help="a config YAML, as given to snakemake --configfile")
    _add_overrides(check)
    check.add_argument("--schema", metavar="YAML", help=f"the config schema (default: {SCHEMA})")
    check.set_defaults(handler=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        output = args.handler(args)
    except (UsageError, RunDataError) as err:
        sys.stderr.write(f"agon {args.command}: {err}\n")
        return 2
    except (OSError, ValueError) as err:
        sys.stderr.write(f"agon {args.command}: {err}\n")
        return 1
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:  # `agon status ... | head`
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
