import pandas as pd
import pytest

from agon.contracts import GENERATIONS, JUDGMENTS, MATCHES, PAIRS, read_table, write_table
from agon.files import read_json, write_json
from agon.tribe.pairs import PairsConfig, build_pairs, make_pairs, pair_stats, pairs_for_model

# Three duels on "What is k+1?": m0 a right / b wrong, m1 a wrong / b right, m2 identical answers.
MATCHES_ROWS = [
    ("m0", "p0", "1", "a", "b"),
    ("m1", "p1", "2", "b", "c"),
    ("m2", "p2", "3", "a", "c"),
]
ANSWERS = {("a", "p0"): "1", ("b", "p0"): "7", ("b", "p1"): "9", ("c", "p1"): "2", ("a", "p2"): "3", ("c", "p2"): "3"}


def _matches() -> pd.DataFrame:
    return pd.DataFrame(
        [(mid, 0, pid, f"What is {int(ref) - 1}+1?", ref, a, b) for mid, pid, ref, a, b in MATCHES_ROWS],
        columns=MATCHES.columns,
    )


def _generations() -> pd.DataFrame:
    rows = [(pid, "q", model, 0, text, 1, "stop", 0, "hf", "") for (model, pid), text in ANSWERS.items()]
    return pd.DataFrame(rows, columns=GENERATIONS.columns)


def _judgments(preferences: dict[str, float], judge: str = "d") -> pd.DataFrame:
    rows = [(mid, judge, "peer", "ab", 0.0, 0.0, p, "", True, "") for mid, p in preferences.items()]
    return pd.DataFrame(rows, columns=JUDGMENTS.columns)


@pytest.fixture
def files(tmp_path):
    write_table(_matches(), tmp_path / "matches.parquet", MATCHES)
    write_table(_generations(), tmp_path / "gen.parquet", GENERATIONS)
    ratings = {
        "scheme": "sparta",
        "models": {m: {"rating": 50.0} for m in "abcd"},
        "judge_weights": {},
        "tie_band": 0.0,
    }
    write_json(ratings, tmp_path / "ratings.json")
    return tmp_path


def _run(files, preferences, cfg: PairsConfig | None = None):
    write_table(_judgments(preferences), files / "j.parquet", JUDGMENTS)
    return _make_pairs(files, cfg or PairsConfig())


def _make_pairs(files, cfg: PairsConfig):
    """The pairs stage on the files in ``files``: each model's pairs and the stats."""
    outs = {m: files / f"{m}.parquet" for m in "abc"}
    make_pairs(
        files / "matches.parquet",
        [files / "j.parquet"],
        [files / "gen.parquet"],
        files / "ratings.json",
        outs,
        files / "stats.json",
        cfg,
        evaluator="integer",
    )
    return {m: read_table(p, PAIRS) for m, p in outs.items()}, read_json(files / "stats.json")


def test_winner_is_chosen_loser_rejected_and_identical_answers_make_no_pair(files):
    pairs, stats = _run(files, {"m0": 0.8, "m1": -0.6, "m2": 0.5})
    all_pairs = pairs["a"]
    assert all_pairs[["match_id", "chosen", "rejected", "chosen_model", "rejected_model"]].values.tolist() == [
        ["m0", "1", "7", "a", "b"],
        ["m1", "2", "9", "c", "b"],
    ]
    assert all_pairs["margin"].tolist() == pytest.approx([0.8, 0.6])
    # train_on=all: every model trains on every pair
    assert all(len(p) == 2 for p in pairs.values())
    assert stats["pairs"] == 2 and stats["dropped"]["identical_answers"] == 1
    assert stats["chosen_correct"] == 1.0 and stats["inverted"] == 0.0
    assert stats["pairs_by_chosen_model"] == {"a": 1, "c": 1}


def test_margin_drops_close_verdicts_and_stats_say_so(files):
    pairs, stats = _run(files, {"m0": 0.8, "m1": -0.2, "m2": 0.0}, PairsConfig(margin=0.3))
    assert pairs["a"]["match_id"].tolist() == ["m0"]
    assert stats["dropped"]["within_margin"] == 1
    assert sum(stats["margin_histogram"]["counts"]) == 1


def test_a_wrong_verdict_is_counted_as_inverted(files):
    _, stats = _run(files, {"m0": -0.9, "m1": -0.6})
    assert stats["chosen_correct"] == 0.5 and stats["inverted"] == 0.5
    assert stats["dropped"]["no_verdict"] == 0  # m2 has no judgment, but its identical answers drop it first


def test_own_duels_only(files):
    pairs, _ = _run(files, {"m0": 0.8, "m1": -0.6}, PairsConfig(train_on="own"))
    assert pairs["a"]["match_id"].tolist() == ["m0"]
    assert pairs["b"]["match_id"].tolist() == ["m0", "m1"]
    assert pairs["c"]["match_id"].tolist() == ["m1"]


def test_bad_train_on_is_named():
    with pytest.raises(ValueError, match=r"pairs.train_on must be one of"):
        PairsConfig(train_on="mine")


def test_build_pairs_and_stats_on_no_duels():
    empty = pd.DataFrame(
        columns=[
            *["match_id", "prompt_id", "prompt", "reference", "model_a", "model_b"],
            *["d", "n_judges", "answer_a", "answer_b"],
        ]
    )
    pairs = build_pairs(empty, PairsConfig())
    assert pairs.empty and list(pairs.columns) == PAIRS.columns
    assert pairs_for_model(pairs, "a", PairsConfig()).empty
    assert pair_stats(empty, pairs, PairsConfig(), "integer")["pairs"] == 0


def test_min_judges_drops_duels_decided_by_too_few_judges():
    duels = pd.DataFrame(
        {
            "match_id": ["m0", "m1"],
            "prompt_id": ["p0", "p1"],
            "prompt": ["q0", "q1"],
            "reference": ["1", "2"],
            "model_a": ["a", "a"],
            "model_b": ["b", "b"],
            "d": [1.0, 1.0],
            "n_judges": [2, 1],
            "answer_a": ["1", "2"],
            "answer_b": ["7", "9"],
        }
    )
    assert build_pairs(duels, PairsConfig(margin=0.99, min_judges=2))["match_id"].tolist() == ["m0"]
    stats = pair_stats(duels, build_pairs(duels, PairsConfig(min_judges=2)), PairsConfig(min_judges=2), None)
    assert stats["dropped"]["too_few_judges"] == 1


def test_judges_weigh_as_in_the_rating_documents_judge_weights(files):
    # judge d says A (+0.8), judge e says B (-0.4); weights 1 vs 3 -> d = (0.8 - 1.2) / 4 = -0.1: B wins
    judgments = pd.concat([_judgments({"m0": 0.8}, "d"), _judgments({"m0": -0.4}, "e")], ignore_index=True)
    write_table(judgments, files / "j.parquet", JUDGMENTS)
    ratings = {
        "scheme": "sparta",
        "models": {m: {"rating": 50.0} for m in "abcde"},
        "judge_weights": {"e": 3.0},
        "tie_band": 0.0,
    }
    write_json(ratings, files / "ratings.json")
    pairs = _make_pairs(files, PairsConfig())[0]["a"]
    assert pairs["chosen_model"].tolist() == ["b"] and pairs["margin"].tolist() == pytest.approx([0.1])
