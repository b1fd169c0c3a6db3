"""Tasks: the prompt pool of a run, split reproducibly into train, preference and held-out prompts."""

import numpy as np
import pandas as pd

from agon.contracts import PROMPTS, read_table, write_table
from agon.seeding import derive_seed
from agon.tasks import arithmetic

SPLITS = ("train", "preference", "heldout")


def task_problems(task_cfg: dict) -> list[tuple[str, str]]:
    """Every (prompt, reference answer) of the configured task, in a fixed order."""
    match task_cfg["name"]:
        case "arithmetic":
            return list(arithmetic.problems(arithmetic.ArithmeticConfig.from_dict(task_cfg["arithmetic"])))
        case other:
            raise ValueError(f"task.name: unknown task {other!r}")


def checker(task_name: str):
    """The function ``(response, reference) -> bool`` that scores the task's answers."""
    match task_name:
        case "arithmetic":
            return arithmetic.is_correct
        case other:
            raise ValueError(f"task.name: no answer checker for task {other!r}")


def answer_extractor(task_name: str):
    """The function ``response -> canonical answer or None`` of the task (for judges that compare answers)."""
    match task_name:
        case "arithmetic":
            return arithmetic.extract_answer
        case other:
            raise ValueError(f"task.name: no answer extractor for task {other!r}")


def split_sizes(task_cfg: dict, pool_size: int) -> dict[str, int]:
    """Sizes of the three disjoint splits; train gets whatever held-out and preference leave."""
    heldout, preference = task_cfg["heldout_size"], task_cfg["preference_size"]
    train = pool_size - heldout - preference
    if train < 1:
        raise ValueError(
            f"task: the {task_cfg['name']} pool has {pool_size} problems, too few for heldout_size={heldout} "
            f"plus preference_size={preference} and a non-empty train split"
        )
    return {"train": train, "preference": preference, "heldout": heldout}


def make_splits(task_cfg: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Shuffle the pool with a seed derived from the run seed and cut it into disjoint splits."""
    pool = task_problems(task_cfg)
    sizes = split_sizes(task_cfg, len(pool))
    order = np.random.default_rng(derive_seed(seed, "task-splits")).permutation(len(pool))
    splits, start = {}, 0
    for split in ("heldout", "preference", "train"):
        idx = order[start : start + sizes[split]]
        start += sizes[split]
        splits[split] = pd.DataFrame(
            {
                "prompt_id": [f"{task_cfg['name']}-{i:06d}" for i in idx],
                "prompt": [pool[i][0] for i in idx],
                "reference": [pool[i][1] for i in idx],
                "split": split,
            }
        )
    return splits


def write_splits(task_cfg: dict, seed: int, paths: dict[str, str]) -> None:
    """Write each split to its parquet file (``paths``: split name -> path)."""
    for split, frame in make_splits(task_cfg, seed).items():
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
