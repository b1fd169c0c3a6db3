import pytest
from hypothesis import given
from hypothesis import strategies as st

from agon.tasks import iteration_prompts, make_splits, task_problems
from agon.tasks.arithmetic import ArithmeticConfig, extract_answer, is_correct, problems

from .testing_utils import MICRO_TASK

DEFAULT_TASK = {
    "name": "arithmetic",
    "heldout_size": 200,
    "preference_size": 5000,
    "prompts_per_iteration": 500,
    "arithmetic": {"max_a": 999, "max_b": 9, "operations": ["+", "-"]},
}


def test_small_pool_is_enumerated_with_correct_answers():
    # a in 0..2, b in 0..1: 6 sums, and 5 differences (0-1 would be negative)
    pool = list(problems(ArithmeticConfig(max_a=2, max_b=1, operations=("+", "-"))))
    assert len(pool) == 11
    assert ("What is 2+1?", "3") in pool
    assert ("What is 2-1?", "1") in pool
    assert ("What is 0-1?", "-1") not in pool


def test_default_pool_gives_fresh_prompts_for_many_iterations():
    pool = task_problems(DEFAULT_TASK)
    # 1000*10 sums + (1000*10 - 45) differences with a >= b
    assert len(pool) == 19_955
    assert len({p.question for p in pool}) == len(pool)
    assert len(pool) - 200 - 5000 > 10_000  # the train split stays large


def test_splits_are_disjoint_cover_the_pool_and_are_reproducible():
    splits = make_splits(DEFAULT_TASK, seed=0)
    ids = {name: set(frame["prompt_id"]) for name, frame in splits.items()}
    assert len(ids["heldout"]) == 200 and len(ids["preference"]) == 5000
    assert not ids["heldout"] & ids["preference"]
    assert not ids["heldout"] & ids["train"]
    assert not ids["preference"] & ids["train"]
    assert sum(map(len, ids.values())) == 19_955
    again = make_splits(DEFAULT_TASK, seed=0)
    assert again["heldout"].equals(splits["heldout"])
    other = make_splits(DEFAULT_TASK, seed=1)
    assert set(other["heldout"]["prompt_id"]) != ids["heldout"]


def test_too_small_pool_is_a_clear_error():
    task = {**MICRO_TASK, "preference_size": 10_000}
    with pytest.raises(ValueError, match=r"too few for task.heldout_size=20 plus task.preference_size=10000"):
        make_splits(task, seed=0)


def test_each_iteration_draws_its_own_fresh_prompts():
    preference = make_splits(MICRO_TASK, seed=0)["preference"]
    slices = [set(iteration_prompts(preference, i, 10)["prompt_id"]) for i in range(4)]
    assert all(len(s) == 10 for s in slices)
    assert len(set().union(*slices)) == 40
    with pytest.raises(ValueError, match=r"iteration 4 needs preference prompts 40..49, but the pool holds 40"):
        iteration_prompts(preference, 4, 10)


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("42", "42"),
        (" 42 ", "42"),
        ("-7", "-7"),
        ("007", "7"),
        ("42.", None),
        ("4 2", None),
        ("", None),
        ("x", None),
    ],
)
def test_extract_answer(response, answer):
    assert extract_answer(response) == answer


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_any_integer_round_trips_through_the_checker(n):
    assert is_correct(str(n), str(n))
    assert not is_correct(str(n + 1), str(n))
