"""Which answers of the selfplay protocol meet: every two of a policy's K samples per prompt, and from the second
iteration on each sample against the previous policy's sample of the same index.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import MATCHES, PROMPTS, read_table, write_table


def comparisons(prompts: pd.DataFrame, models: list[str], k: int) -> pd.DataFrame:
    """The matches table of one iteration: every unordered pair ``i < j`` of each model's K samples per prompt.

    Ordered by model, prompt order, i, j; ``model_a == model_b`` (the policy), ``sample_a``/``sample_b`` say which
    answers meet. The match id ``model:prompt_id:i:j`` names the comparison in pairs built from it.
    """
    check_k(k)
    if len(set(models)) != len(models):
        raise ValueError(f"selfplay: models must be distinct; got {models}")
    if prompts["prompt_id"].duplicated().any():
        repeated = prompts.loc[prompts["prompt_id"].duplicated(), "prompt_id"].unique()[:3].tolist()
        raise ValueError(f"selfplay: prompt_id must be unique; repeated: {repeated}")
    i, j = np.triu_indices(k, 1)
    n_prompts, n_pairs = len(prompts), len(i)
    per_model = n_prompts * n_pairs
    prompt_rows = np.tile(np.repeat(np.arange(n_prompts), n_pairs), len(models))
    model = pd.Series(np.repeat(np.asarray(models, dtype=object), per_model), dtype=object)
    prompt_id = pd.Series(prompts["prompt_id"].astype(str).to_numpy()[prompt_rows], dtype=object)
    sample_a = np.tile(i, n_prompts * len(models)).astype(np.int64)
    sample_b = np.tile(j, n_prompts * len(models)).astype(np.int64)
    match_id = model + ":" + prompt_id + ":" + pd.Series(sample_a).astype(str) + ":" + pd.Series(sample_b).astype(str)
    return pd.DataFrame(
        {
            "match_id": match_id.to_numpy(dtype=object),
            "round": np.zeros(len(match_id), dtype=np.int64),
            "prompt_id": prompt_id.to_numpy(),
            "prompt": prompts["prompt"].to_numpy(dtype=object)[prompt_rows],
            "reference": prompts["reference"].to_numpy(dtype=object)[prompt_rows],
            "model_a": model.to_numpy(),
            "model_b": model.to_numpy(),
            "sample_a": sample_a,
            "sample_b": sample_b,
        }
    )


# The previous iteration's policy of a model answers under this name, so that its answers and the current
# policy's can meet in one comparison (a name no member can have: the config allows no "@").
PREVIOUS = "@previous"


def previous_comparisons(prompts: pd.DataFrame, models: list[str], k: int) -> pd.DataFrame:
    """Each policy's answer s against its previous policy's answer s, per prompt: the iteration's win rate against
    the previous policy, SPPO's measure of progress. Match id ``model:prompt_id:s:previous``."""
    same = comparisons(prompts, models, 2)
    rows = same.loc[same.index.repeat(k)].reset_index(drop=True)
    sample = np.tile(np.arange(k, dtype=np.int64), len(same))
    return rows.assign(
        match_id=rows["model_a"] + ":" + rows["prompt_id"] + ":" + pd.Series(sample).astype(str) + ":previous",
        model_b=rows["model_a"] + PREVIOUS,
        sample_a=sample,
        sample_b=sample,
    )


def is_within(matches: pd.DataFrame) -> pd.Series:
    """The comparisons between two answers of one policy (the others meet the previous policy)."""
    return matches["model_a"] == matches["model_b"]


def check_k(k: int) -> None:
    """Reject a sample count that leaves no two answers of a prompt to compare."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ValueError(f"selfplay: k (samples per prompt) must be an integer >= 2 to compare samples, got {k!r}")


def write_comparisons(
    prompts_path: str | Path, out_path: str | Path, models: list[str], k: int, *, previous: bool
) -> None:
    """The iteration's matches: every two of each model's ``k`` answers to each prompt and, with ``previous``
    (every iteration but the first), each answer against the previous policy's answer of the same index."""
    prompts = read_table(prompts_path, PROMPTS)
    frames = [comparisons(prompts, models, k)] + ([previous_comparisons(prompts, models, k)] if previous else [])
    write_table(pd.concat(frames, ignore_index=True), out_path, MATCHES)
