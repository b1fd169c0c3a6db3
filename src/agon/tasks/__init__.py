"""Tasks: the prompt pool of a run, split reproducibly into train, preference and held-out prompts.

The pool comes from the built-in arithmetic generator or from a dataset (``agon.tasks.catalog``) read from a
local file or the Hub (``agon.tasks.sources``); answers are checked by the task's evaluator
(``agon.tasks.evaluators``), or by none for free-form tasks.
"""

from collections import Counter

import numpy as np
import pandas as pd

from agon.contracts import PROMPTS, read_table, write_table
from agon.seeding import derive_seed
from agon.tasks import arithmetic
from agon.tasks.catalog import FORMATS, Problem, metadata_json, render
from agon.tasks.evaluators import evaluator
from agon.tasks.sources import RecordError, TaskDataError, load_records, record_place

SPLITS = ("train", "preference", "heldout")
TASKS = ("arithmetic", *FORMATS)


def task_problems(task_cfg: dict, seed: int = 0) -> list[Problem]:
    """Every problem of the configured task, in a fixed order (the source's)."""
    name = task_cfg["name"]
    if name == "arithmetic":
        pool = arithmetic.problems(arithmetic.ArithmeticConfig.from_dict(task_cfg["arithmetic"]))
        return [Problem(f"arithmetic-{i:06d}", q, a) for i, (q, a) in enumerate(pool)]
    if name not in FORMATS:
        raise ValueError(f"task.name: unknown task {name!r}; known: {list(TASKS)}")
    fmt = FORMATS[name]
    source, subset, split = task_cfg["source"], task_cfg["subset"], task_cfg["split"]
    if source is None:
        if fmt.hub is None:
            raise TaskDataError(f"task.source: the {name} task has no default source; give a file or a Hub id")
        source, default_subset, default_split = fmt.hub
        subset, split = subset or default_subset, split or default_split
    records = load_records(source, subset=subset, split=split or "train", revision=task_cfg["revision"])
    if name == "custom":
        for column, key in custom_columns(task_cfg["custom"]).items():
            if column not in records.column_names:
                raise TaskDataError(
                    f"task.source: {source} has no column {column!r} (named by task.custom.{key}); its columns are "
                    f"{records.column_names}: name one of them in task.custom.{key}"
                )
    missing = [f for f in fmt.fields if f not in records.column_names]
    if missing:
        raise TaskDataError(
            f"task.source: {source} has no field(s) {missing} that {name} records need; "
            f"it has {records.column_names} (another layout can be read with name: custom)"
        )
    try:
        problems = [p for index, record in enumerate(records) for p in fmt.mapper(record, index, task_cfg, seed)]
    except RecordError as err:
        raise TaskDataError(f"task.source: {record_place(source, err.index)}{err.part}: {err.detail}") from None
    if not problems:
        raise TaskDataError(f"task.source: {source} gives no {name} problems (after the task's filters)")
    repeated = sorted(i for i, n in Counter(p.prompt_id for p in problems).items() if n > 1)
    if repeated:
        raise TaskDataError(f"task.source: {source} repeats prompt id(s) {repeated[:5]}; ids must be unique")
    return problems


def custom_columns(custom: dict) -> dict[str, str]:
    """The columns a custom task reads (task.custom), each with the key that names it."""
    columns = {custom[key]: key for key in ("prompt", "reference", "choices", "background", "id") if custom[key]}
    return {**columns, **{column: "metadata" for column in custom["metadata"] if column not in columns}}


def evaluator_name(task_cfg: dict) -> str | None:
    """The evaluator that checks the task's answers: the config's choice, else the task's own (choice for custom
    data with options; None: free-form)."""
    if task_cfg.get("evaluator"):
        return task_cfg["evaluator"]
    if task_cfg["name"] == "custom" and task_cfg["custom"]["choices"]:
        return "choice"
    return "integer" if task_cfg["name"] == "arithmetic" else FORMATS[task_cfg["name"]].evaluator


def instruction(task_cfg: dict) -> str:
    """What follows each question: the config's instruction, else the task's own ("" for arithmetic)."""
    if task_cfg.get("instruction") is not None:
        return task_cfg["instruction"]
    return "" if task_cfg["name"] == "arithmetic" else FORMATS[task_cfg["name"]].instruction


def checker(evaluator_name: str):
    """The function ``(response, reference) -> bool`` of the named evaluator."""
    return evaluator(evaluator_name).is_correct


def answer_extractor(evaluator_name: str):
    """The function ``response -> canonical answer or None`` of the named evaluator (for judges that compare)."""
    return evaluator(evaluator_name).extract


def split_sizes(task_cfg: dict, pool_size: int) -> dict[str, int]:
    """Sizes of the three disjoint splits; train gets whatever held-out and preference leave."""
    heldout, preference = task_cfg["heldout_size"], task_cfg["preference_size"]
    train = pool_size - heldout - preference
    if train < 1:
        raise ValueError(
            f"task: the {task_cfg['name']} pool has {pool_size} problems, too few for task.heldout_size={heldout} "
            f"plus task.preference_size={preference} and a non-empty train split; make the two sum to at most "
            f"{pool_size - 1}"
        )
    return {"train": train, "preference": preference, "heldout": heldout}


def make_splits(task_cfg: dict, seed: int, with_background: bool = True) -> dict[str, pd.DataFrame]:
    """Shuffle the pool with a seed derived from the run seed and cut it into disjoint splits.

    ``with_background``: put a problem's background passage into its prompt; a debate passes False, since only
    its debaters may read the passage (they get it from the ``background`` column).
    """
    pool = task_problems(task_cfg, seed)
    sizes = split_sizes(task_cfg, len(pool))
    order = np.random.default_rng(derive_seed(seed, "task-splits")).permutation(len(pool))
    after = instruction(task_cfg)
    splits, start = {}, 0
    for split in ("heldout", "preference", "train"):
        chosen = [pool[i] for i in order[start : start + sizes[split]]]
        start += sizes[split]
        splits[split] = pd.DataFrame(
            {
                "prompt_id": [p.prompt_id for p in chosen],
                "prompt": [render(p, after, with_background) for p in chosen],
                "reference": [p.reference for p in chosen],
                "split": split,
                "choices": [p.choices for p in chosen],
                "background": [p.background for p in chosen],
                "metadata": [metadata_json(p.metadata) for p in chosen],
            }
        )
    return splits


def write_splits(task_cfg: dict, seed: int, paths: dict[str, str], with_background: bool = True) -> None:
    """Write each split to its parquet file (``paths``: split name -> path)."""
    for split, frame in make_splits(task_cfg, seed, with_background).items():
        write_table(frame, paths[split], PROMPTS)


def iteration_prompts(preference: pd.DataFrame, iteration: int, size: int) -> pd.DataFrame:
    """Iteration ``iteration``'s own slice of the (already shuffled) preference pool: fresh prompts each time."""
    start = iteration * size
    if start + size > len(preference):
        raise ValueError(
            f"iteration {iteration} needs preference prompts {start}..{start + size - 1}, "
            f"but the pool holds {len(preference)}; raise task.preference_size"
        )
    return preference.iloc[start : start + size].reset_index(drop=True)


def write_iteration_prompts(preference_path: str, out_path: str, iteration: int, size: int) -> None:
    write_table(iteration_prompts(read_table(preference_path, PROMPTS), iteration, size), out_path, PROMPTS)
