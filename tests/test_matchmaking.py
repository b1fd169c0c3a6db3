from collections import Counter

import pandas as pd
import pytest

from agon.contracts import MATCHES
from agon.tribe.matchmaking import MatchmakingConfig, duel_prompts, make_matches

MODELS = ["a", "b", "c", "d"]


def _prompts(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prompt_id": [f"p{k}" for k in range(n)],
            "prompt": [f"What is {k}+1?" for k in range(n)],
            "reference": [str(k + 1) for k in range(n)],
            "split": "preference",
        }
    )


def test_each_round_gives_every_model_one_instruction_in_shuffled_order():
    matches = make_matches(_prompts(40), MODELS, dict.fromkeys(MODELS, 50.0), MatchmakingConfig(), iteration=0, seed=1)
    assert list(matches.columns) == MATCHES.columns
    assert matches["prompt_id"].tolist() == [f"p{k}" for k in range(40)]
    for _, one_round in matches.groupby("round"):
        assert sorted(one_round["model_a"]) == MODELS
    firsts = {tuple(r["model_a"]) for _, r in matches.groupby("round")}
    assert len(firsts) > 1  # the order is reshuffled per round
    assert (matches["model_a"] != matches["model_b"]).all()


def test_without_random_matches_opponents_are_the_closest_in_rating():
    ratings = {"a": 10.0, "b": 11.0, "c": 30.0, "d": 31.0}
    cfg = MatchmakingConfig(random_match_prob=0.0, num_opponents=1)
    matches = make_matches(_prompts(20), MODELS, ratings, cfg, iteration=0, seed=0)
    nearest = {"a": "b", "b": "a", "c": "d", "d": "c"}
    assert all(nearest[a] == b for a, b in zip(matches["model_a"], matches["model_b"], strict=True))


def test_two_closest_opponents_are_both_drawn_and_far_ones_never():
    ratings = {"a": 10.0, "b": 11.0, "c": 12.0, "d": 90.0}
    cfg = MatchmakingConfig(random_match_prob=0.0, num_opponents=2)
    matches = make_matches(_prompts(400), MODELS, ratings, cfg, iteration=0, seed=0)
    opponents_of_a = Counter(matches.loc[matches["model_a"] == "a", "model_b"])
    assert set(opponents_of_a) == {"b", "c"}


def test_random_matches_reach_every_opponent():
    ratings = {"a": 10.0, "b": 11.0, "c": 50.0, "d": 90.0}
    cfg = MatchmakingConfig(random_match_prob=1.0, num_opponents=1)
    matches = make_matches(_prompts(200), MODELS, ratings, cfg, iteration=0, seed=0)
    assert set(matches.loc[matches["model_a"] == "a", "model_b"]) == {"b", "c", "d"}


def test_matches_are_reproducible_for_a_seed():
    args = (_prompts(30), MODELS, dict.fromkeys(MODELS, 50.0), MatchmakingConfig())
    assert make_matches(*args, iteration=2, seed=7).equals(make_matches(*args, iteration=2, seed=7))
    assert not make_matches(*args, iteration=2, seed=7).equals(make_matches(*args, iteration=2, seed=8))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="at least 2 models"):
        make_matches(_prompts(3), ["a"], {"a": 1.0}, MatchmakingConfig(), iteration=0, seed=0)
    with pytest.raises(ValueError, match=r"no rating for model\(s\) \['b'\]"):
        make_matches(_prompts(3), ["a", "b"], {"a": 1.0}, MatchmakingConfig(), iteration=0, seed=0)
    with pytest.raises(ValueError, match="random_match_prob must be in"):
        MatchmakingConfig(random_match_prob=1.5)


def test_a_model_answers_only_the_prompts_of_its_own_duels():
    matches = make_matches(_prompts(12), MODELS, dict.fromkeys(MODELS, 50.0), MatchmakingConfig(), iteration=0, seed=3)
    for model in MODELS:
        mine = duel_prompts(matches, model)
        expected = matches.loc[(matches["model_a"] == model) | (matches["model_b"] == model), "prompt_id"]
        assert mine["prompt_id"].tolist() == expected.tolist()
        assert set(mine.columns) == {"prompt_id", "prompt", "reference", "split"}


def test_initial_ratings_are_scheme_free_and_fill_missing_models_with_their_mean(tmp_path):
    from agon.contracts import PROMPTS, read_table, write_table
    from agon.tribe.matchmaking import schedule_matches

    write_table(_prompts(8), tmp_path / "prompts.parquet", PROMPTS)
    cfg = MatchmakingConfig(random_match_prob=0.0, num_opponents=1)
    # a=0, b=100 given; c and d get the mean 50 -> a's nearest is c or d (50 away), never b (100 away)
    schedule_matches(
        tmp_path / "prompts.parquet",
        None,
        tmp_path / "m.parquet",
        MODELS,
        {"a": 0.0, "b": 100.0},
        cfg,
        iteration=0,
        seed=0,
    )
    matches = read_table(tmp_path / "m.parquet", MATCHES)
    assert set(matches.loc[matches["model_a"] == "a", "model_b"]) <= {"c", "d"}
