"""Who debates whom on which question, arguing which candidate answer.

Per question there are two candidates, the reference and a wrong one (another option of a multiple-choice
question, else a numeric ``distractor``); which one is A is random. Every ordered pair of distinct debaters meets
in turn (round-robin cross-play: each argues both sides against each other).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import MATCHES, PROMPTS, read_table, write_table
from agon.tasks.evaluators import LETTERS

SIDES = ("a", "b")
SCHEDULE_COLUMNS = [*MATCHES.columns, "answer_a", "answer_b", "correct"]


def distractor(reference: str, rng: np.random.Generator) -> str:
    """A wrong candidate: the integer ``reference`` moved by a random nonzero offset of 1 to 3.

    A plausible near miss makes the judge's task hard enough to be informative. It stays non-negative when the
    reference is (the embedded task has no negative answers, so a negative candidate would give itself away).
    """
    try:
        value = int(str(reference).strip())
    except ValueError:
        raise ValueError(
            f"debate: reference {reference!r} is not an integer; debate makes its wrong candidate from a numeric "
            "reference, so a task with other answers needs its candidates in the data"
        ) from None
    offset = int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1)
    if value >= 0 > value + offset:
        offset = -offset
    return str(value + offset)


def candidates(reference: str, choices: list[str], rng: np.random.Generator) -> tuple[str, str]:
    """The right and a wrong candidate: for a multiple-choice prompt (reference = the right option's letter), the
    right option and another drawn at random, each as "<letter>. <text>" so the task's choice evaluator reads them;
    otherwise the integer reference and its ``distractor``."""
    if not choices:
        return reference, distractor(reference, rng)
    right = LETTERS.index(reference)
    other = int(rng.choice([i for i in range(len(choices)) if i != right]))
    return f"{reference}. {choices[right]}", f"{LETTERS[other]}. {choices[other]}"


def schedule(prompts: pd.DataFrame, models: list[str], seed: int) -> pd.DataFrame:
    """One debate per prompt, in prompt order: the MATCHES contract plus ``answer_a``, ``answer_b``, ``correct``
    and ``background`` (the prompts' optional background passage, as QuALITY's questions have; "" without one).

    ``model_a`` argues ``answer_a`` and ``model_b`` argues ``answer_b``; ``correct`` ("a" or "b") says which is
    the reference, drawn per question. Debaters take the ordered pairs of ``_pair_cycle`` in turn from a random
    point of the cycle, so over the iteration every debater argues both sides against every other as evenly as
    the prompt count allows; a population of one debates itself.
    """
    missing = [c for c in PROMPTS.columns if c not in prompts.columns]
    if missing:
        raise ValueError(f"debate: prompts lack column(s) {missing}")
    if not models or len(set(models)) != len(models):
        raise ValueError(f"debate: models must be a non-empty list of distinct names; got {models}")
    if prompts["prompt_id"].duplicated().any():
        repeated = prompts.loc[prompts["prompt_id"].duplicated(), "prompt_id"].unique()[:3].tolist()
        raise ValueError(f"debate: prompt_id must be unique; repeated: {repeated}")
    rng = np.random.default_rng(seed)
    cycle = _pair_cycle(models)
    start = int(rng.integers(len(cycle)))
    rows = []
    choices = prompts["choices"] if "choices" in prompts.columns else pd.Series([[]] * len(prompts))
    for k, (prompt, options) in enumerate(zip(prompts.itertuples(index=False), choices, strict=True)):
        model_a, model_b = cycle[(start + k) % len(cycle)]
        correct = "a" if rng.random() < 0.5 else "b"
        right, wrong = candidates(str(prompt.reference), list(options if options is not None else []), rng)
        answer_a, answer_b = (right, wrong) if correct == "a" else (wrong, right)
        reference = str(prompt.reference)
        match_id = f"debate-{prompt.prompt_id}"
        rows.append(
            (match_id, 0, prompt.prompt_id, prompt.prompt, reference, model_a, model_b, answer_a, answer_b, correct)
        )
    background = prompts["background"].fillna("").astype(str).to_numpy() if "background" in prompts.columns else ""
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS).astype({"round": np.int64}).assign(background=background)


def _pair_cycle(models: list[str]) -> list[tuple[str, str]]:
    """All ordered pairs of distinct models, in blocks ``(i, i + k mod n)`` for one offset k each.

    Within a block each model argues side a once and side b once, so any whole number of blocks is balanced;
    offsets k and n - k (the same pairs, sides swapped) come one after the other, so a pair's side flip follows
    soon. One model pairs with itself.
    """
    n = len(models)
    if n == 1:
        return [(models[0], models[0])]
    offsets = []
    for k in range(1, n // 2 + 1):
        offsets += [k] if 2 * k == n else [k, n - k]
    return [(models[i], models[(i + k) % n]) for k in offsets for i in range(n)]


def write_debates(prompts_path: str | Path, out_path: str | Path, models: list[str], seed: int) -> None:
    """The iteration's debates (its matches): one per question, the debaters in round-robin cross-play."""
    write_table(schedule(read_table(prompts_path, PROMPTS), models, seed), out_path, MATCHES)
