import numpy as np
import pandas as pd
import pytest

from agon.contracts import GENERATIONS, JUDGMENTS, MATCHES, PAIRS, PROMPTS, read_table, write_table
from agon.selfplay.comparisons import comparisons, is_within, previous_comparisons
from agon.selfplay.pairs import (
    CANDIDATE_COLUMNS,
    candidate_pairs,
    kept_pairs,
    pair_stats,
    require_verdict,
    selfplay_pairs,
    verified,
)
from agon.selfplay.win_rates import RATE_COLUMNS, win_matrix, win_rate_vs_previous, win_rates


def _prompts(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prompt_id": [f"p{i}" for i in range(n)],
            "prompt": [f"What is {i}+1?" for i in range(n)],
            "reference": [str(i + 1) for i in range(n)],
            "split": ["preference"] * n,
        },
        columns=PROMPTS.columns,
    )


def _match(model: str, prompt_id: str, a: int, b: int) -> tuple:
    return (f"{model}:{prompt_id}:{a}:{b}", 0, prompt_id, "q", "r", model, model, a, b)


def _matches(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*MATCHES.columns, "sample_a", "sample_b"])


def _judgment(match_id: str, judge: str, order: str, preference: float | None, valid: bool = True) -> tuple:
    return (match_id, judge, "peer", order, 0.0, 0.0, preference, "", valid, "" if valid else "unparsed")


def _judgments(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=JUDGMENTS.columns).astype({"preference": float})


def _generations(responses: dict[tuple[str, str], list[str]]) -> pd.DataFrame:
    rows = [
        (pid, f"question {pid}", model, s, text, 1, "stop", 0, "hf", "")
        for (model, pid), texts in responses.items()
        for s, text in enumerate(texts)
    ]
    return pd.DataFrame(rows, columns=GENERATIONS.columns)


def _rates(win: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    rows = [(model, pid, s, w, 1) for (model, pid), ws in win.items() for s, w in enumerate(ws)]
    return pd.DataFrame(rows, columns=RATE_COLUMNS).astype({"win_rate": float})


# --- comparisons ---------------------------------------------------------------------------------------------------


def test_comparisons_pair_every_two_samples_once_and_satisfy_the_matches_contract(tmp_path):
    # K=4 -> C(4, 2) = 6 comparisons per prompt; 2 models x 3 prompts x 6 = 36 rows.
    matches = comparisons(_prompts(3), ["m1", "m0"], 4)
    assert len(matches) == 36
    first = matches[(matches["model_a"] == "m1") & (matches["prompt_id"] == "p0")]
    assert list(zip(first["sample_a"], first["sample_b"], strict=True)) == [
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 2),
        (1, 3),
        (2, 3),
    ]
    assert first["match_id"].tolist()[:2] == ["m1:p0:0:1", "m1:p0:0:2"]
    # Order: model as given (m1 before m0), then prompt order, then i, j.
    assert matches["model_a"].tolist() == ["m1"] * 18 + ["m0"] * 18
    assert matches["prompt_id"].tolist()[:18] == ["p0"] * 6 + ["p1"] * 6 + ["p2"] * 6
    assert (matches["model_a"] == matches["model_b"]).all() and (matches["round"] == 0).all()
    assert matches.loc[6, "reference"] == "2" and matches.loc[6, "prompt"] == "What is 1+1?"
    assert matches["match_id"].is_unique
    write_table(matches, tmp_path / "m.parquet", MATCHES)
    back = read_table(tmp_path / "m.parquet", MATCHES)
    assert list(back.columns) == [*MATCHES.columns, "sample_a", "sample_b"]
    assert back["sample_a"].dtype == np.int64 and back["sample_b"].dtype == np.int64
    pd.testing.assert_frame_equal(back, matches, check_dtype=False)


def test_comparisons_of_two_samples_is_one_per_prompt():
    assert comparisons(_prompts(2), ["m"], 2)["match_id"].tolist() == ["m:p0:0:1", "m:p1:0:1"]


@pytest.mark.parametrize("k", [1, 0, -3, 2.0, True])
def test_comparisons_need_an_integer_k_of_at_least_two(k):
    with pytest.raises(ValueError, match="k \\(samples per prompt\\) must be an integer >= 2"):
        comparisons(_prompts(1), ["m"], k)


def test_comparisons_reject_repeated_models_and_prompts():
    with pytest.raises(ValueError, match="models must be distinct"):
        comparisons(_prompts(1), ["m", "m"], 2)
    with pytest.raises(ValueError, match="prompt_id must be unique"):
        comparisons(pd.concat([_prompts(1), _prompts(1)]), ["m"], 2)


# --- win matrix and win rates --------------------------------------------------------------------------------------

# Policy "m", K=3, two prompts.
# p0: (0, 1) judged by x in both orders (+1, +0.5 -> x: 0.75) and by y (-0.5; its "ba" row is invalid twice, once
#     with a stray preference that must not count -> y: -0.5); the judges average: d = (0.75 - 0.5) / 2 = 0.125,
#     P[0, 1] = (1 + 0.125) / 2 = 0.5625. (A flat mean of the three rows would give 1/3 -> 0.6667.) The policy "m"
#     judging its own samples (-1) is left out, as a duellist never judges its own duel.
#     (2, 0) is stored flipped: x says +1 in both orders for sample 2 -> P[2, 0] = 1, P[0, 2] = 0.
#     (1, 2) has only an invalid verdict -> NaN both ways.
# p1: (0, 1): x says -1 -> P[0, 1] = 0, P[1, 0] = 1; (0, 2) and (1, 2) have no judgments: sample 2 is unknown.
MATCH_ROWS = [
    _match("m", "p0", 0, 1),
    _match("m", "p0", 2, 0),
    _match("m", "p0", 1, 2),
    _match("m", "p1", 0, 1),
    _match("m", "p1", 0, 2),
    _match("m", "p1", 1, 2),
]
JUDGMENT_ROWS = [
    _judgment("m:p0:0:1", "x", "ab", 1.0),
    _judgment("m:p0:0:1", "x", "ba", 0.5),
    _judgment("m:p0:0:1", "y", "ab", -0.5),
    _judgment("m:p0:0:1", "y", "ba", None, valid=False),
    _judgment("m:p0:0:1", "y", "ba", 1.0, valid=False),
    _judgment("m:p0:0:1", "m", "ab", -1.0),
    _judgment("m:p0:2:0", "x", "ab", 1.0),
    _judgment("m:p0:2:0", "x", "ba", 1.0),
    _judgment("m:p0:1:2", "x", "ab", None, valid=False),
    _judgment("m:p1:0:1", "x", "ab", -1.0),
]


def test_win_matrix_folds_judges_and_orders_flips_stored_pairs_and_leaves_no_verdict_nan():
    matrices = win_matrix(_matches(MATCH_ROWS), _judgments(JUDGMENT_ROWS), 3)
    assert list(matrices) == [("m", "p0"), ("m", "p1")]
    nan = np.nan
    np.testing.assert_allclose(
        matrices[("m", "p0")], [[0.5, 0.5625, 0.0], [0.4375, 0.5, nan], [1.0, nan, 0.5]], equal_nan=True
    )
    np.testing.assert_allclose(
        matrices[("m", "p1")], [[0.5, 0.0, nan], [1.0, 0.5, nan], [nan, nan, 0.5]], equal_nan=True
    )


def test_win_rates_average_the_other_samples_with_a_verdict():
    rates = win_rates(_matches(MATCH_ROWS), _judgments(JUDGMENT_ROWS), 3)
    assert list(rates.columns) == RATE_COLUMNS
    assert rates[["model", "prompt_id", "sample"]].values.tolist() == [
        ["m", p, s] for p in ("p0", "p1") for s in range(3)
    ]
    # p0: sample 0 = (0.5625 + 0) / 2 = 0.28125 over 2; sample 1 = 0.4375 over 1 (1-2 has no verdict); sample 2 = 1.
    # p1: sample 0 = 0, sample 1 = 1, each over 1; sample 2 was never judged -> NaN over 0 (never 0.5).
    np.testing.assert_allclose(rates["win_rate"], [0.28125, 0.4375, 1.0, 0.0, 1.0, np.nan], equal_nan=True)
    assert rates["compared"].tolist() == [2, 1, 1, 1, 1, 0]
    assert rates["sample"].dtype == np.int64 and rates["compared"].dtype == np.int64


def test_a_k_larger_than_the_matches_leaves_the_extra_sample_unknown():
    rates = win_rates(_matches(MATCH_ROWS[:3]), _judgments(JUDGMENT_ROWS[:9]), 4)
    # Sample 3 of p0 meets nobody: NaN; the others keep their values (the mean is over compared samples only).
    np.testing.assert_allclose(rates["win_rate"], [0.28125, 0.4375, 1.0, np.nan], equal_nan=True)


def test_a_transitive_ranker_at_scale_ranks_samples_by_score():
    # 200 prompts x K=8 x 28 comparisons; a ranker that prefers the higher hidden score in both orders. The sample
    # with the r-th lowest score beats exactly r of the 7 others -> win rate r / 7.
    k, prompts = 8, _prompts(200)
    matches = comparisons(prompts, ["m"], k)
    rng = np.random.default_rng(0)
    scores = {pid: rng.permutation(k) for pid in prompts["prompt_id"]}
    a = np.array([scores[p][s] for p, s in zip(matches["prompt_id"], matches["sample_a"], strict=True)])
    b = np.array([scores[p][s] for p, s in zip(matches["prompt_id"], matches["sample_b"], strict=True)])
    rows = [
        _judgment(mid, "rm", order, float(np.sign(sa - sb)))
        for mid, sa, sb in zip(matches["match_id"], a, b, strict=True)
        for order in ("ab", "ba")
    ]
    rates = win_rates(matches, _judgments(rows), k)
    expected = np.concatenate([scores[p] / (k - 1) for p in prompts["prompt_id"]])
    np.testing.assert_allclose(rates["win_rate"], expected)
    assert (rates["compared"] == k - 1).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.drop(columns="sample_b"), "lack column"),
        (lambda m: m.assign(model_b="other"), "model_a == model_b"),
        (lambda m: m.assign(sample_b=3), r"must lie in \[0, 3\)"),
        (lambda m: m.assign(sample_a=-1), r"must lie in \[0, 3\)"),
        (lambda m: m.assign(sample_b=m["sample_a"]), "compared with itself"),
        (lambda m: pd.concat([m, m.assign(match_id="again", sample_a=m["sample_b"], sample_b=m["sample_a"])]), "once"),
    ],
)
def test_win_rates_reject_matches_that_are_not_selfplay_comparisons(change, message):
    with pytest.raises(ValueError, match=message):
        win_rates(change(_matches(MATCH_ROWS[:1])), _judgments([]), 3)


def test_win_rates_need_k_of_at_least_two():
    with pytest.raises(ValueError, match="must be an integer >= 2"):
        win_rates(_matches(MATCH_ROWS), _judgments(JUDGMENT_ROWS), 1)


# --- pairs ---------------------------------------------------------------------------------------------------------

# One policy "m", one prompt per case, distinct answers unless said otherwise.
CASES = {
    ("m", "ties"): ([0.25, 0.75, 0.75, 0.25], ["a", "b", "c", "d"]),  # top tie 1/2 -> 1; bottom tie 0/3 -> 3
    ("m", "noise"): ([0.3, 0.1 + 0.2, 0.0], ["a", "b", "c"]),  # 0.30000000000000004 ties 0.3 -> lower index 0
    ("m", "flat"): ([0.5, 0.5, 0.5], ["a", "b", "c"]),  # all tied -> no pair
    ("m", "unknown"): ([np.nan, 0.5, np.nan], ["a", "b", "c"]),  # one known win rate -> no pair
    ("m", "same"): ([1.0, 0.0], ["4", "4"]),  # identical answers -> no pair
    ("m", "close"): ([0.6, 0.4], ["a", "b"]),  # gap 0.2
}


def _case_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        _generations({key: texts for key, (_, texts) in CASES.items()}),
        _rates({key: rates for key, (rates, _) in CASES.items()}),
    )


def test_max_min_breaks_ties_to_the_lower_index_at_the_top_and_the_higher_at_the_bottom():
    generations, rates = _case_frames()
    candidates = candidate_pairs(generations, rates, "max_min", 0.0, seed=0)
    assert list(candidates.columns) == CANDIDATE_COLUMNS
    by_prompt = candidates.set_index("prompt_id")
    assert by_prompt.loc["ties", ["chosen_sample", "rejected_sample", "chosen", "rejected"]].tolist() == [
        1,
        3,
        "b",
        "d",
    ]
    assert by_prompt.loc["noise", ["chosen_sample", "rejected_sample"]].tolist() == [0, 2]
    assert by_prompt["dropped"].to_dict() == {
        "ties": "",
        "noise": "",
        "flat": "tied",
        "unknown": "unknown",
        "same": "identical",
        "close": "",
    }
    assert by_prompt.loc["unknown", ["chosen_sample", "rejected_sample"]].tolist() == [-1, -1]
    pairs = kept_pairs(candidates)
    assert pairs["prompt_id"].tolist() == ["ties", "noise", "close"]
    # margins: 0.75 - 0.25 = 0.5; 0.3 - 0 = 0.3; 0.6 - 0.4 = 0.2
    np.testing.assert_allclose(pairs["margin"], [0.5, 0.3, 0.2])
    np.testing.assert_allclose(pairs["chosen_probs"], [0.75, 0.3, 0.6])
    np.testing.assert_allclose(pairs["rejected_probs"], [0.25, 0.0, 0.4])
    assert pairs["match_id"].tolist() == ["m:ties:1:3", "m:noise:0:2", "m:close:0:1"]
    assert pairs["prompt"].tolist() == ["question ties", "question noise", "question close"]
    assert (pairs["chosen_model"] == "m").all() and (pairs["rejected_model"] == "m").all()


def test_the_margin_keeps_a_gap_equal_to_it_and_drops_a_smaller_one():
    generations, rates = _case_frames()
    pairs = selfplay_pairs(generations, rates, "max_min", 0.3, seed=0)
    # gaps 0.5 and 0.3 (>= 0.3, even as 0.30000000000000004 - 0) kept; 0.2 dropped as below the margin.
    assert pairs["prompt_id"].tolist() == ["ties", "noise"]
    candidates = candidate_pairs(generations, rates, "max_min", 0.3, seed=0)
    assert candidates.set_index("prompt_id").loc["close", "dropped"] == "below_margin"
    # 0.7 - 0.4 = 0.29999999999999993 in floats: still a gap of 0.3.
    floats = selfplay_pairs(_generations({("m", "p"): ["a", "b"]}), _rates({("m", "p"): [0.7, 0.4]}), "max_min", 0.3, 0)
    assert len(floats) == 1


def test_a_verdict_margin_keeps_only_pairs_the_judges_back_directly():
    # Three answers per prompt, x y z; P[i, j] = P(i beats j) from two reference judges.
    # both: both judges back x -> x beats y and z (1.0), y-z tie: win rates 1.0, 0.25, 0.25; pair x over z, d = 1.
    # split: one judge backs x, one y -> x-y 0.5, x-z and y-z 0.75: rates 0.625, 0.625, 0.25; pair x over z with
    #   P = 0.75, d = 0.5: a high win rate that only one judge gave.
    # unjudged: rates given but no verdict on the pair itself -> weak.
    # tie: all three rates equal -> already dropped as tied, and stays so.
    nan = np.nan
    wins = {
        ("m", "both"): np.array([[0.5, 1.0, 1.0], [0.0, 0.5, 0.5], [0.0, 0.5, 0.5]]),
        ("m", "split"): np.array([[0.5, 0.5, 0.75], [0.5, 0.5, 0.75], [0.25, 0.25, 0.5]]),
        ("m", "unjudged"): np.array([[0.5, 1.0, nan], [0.0, 0.5, 1.0], [nan, 0.0, 0.5]]),
        ("m", "tie"): np.full((3, 3), 0.5),
    }
    rates = {("m", "both"): [1.0, 0.25, 0.25], ("m", "split"): [0.625, 0.625, 0.25]}
    rates |= {("m", "unjudged"): [1.0, 0.5, 0.0], ("m", "tie"): [0.5, 0.5, 0.5]}
    generations = _generations({key: ["x", "y", "z"] for key in wins})
    candidates = candidate_pairs(generations, _rates(rates), "max_min", 0.0, seed=0)
    picked = candidates.set_index("prompt_id")[["chosen_sample", "rejected_sample", "dropped"]]
    assert picked.loc["split"].tolist() == [0, 2, ""] and picked.loc["tie", "dropped"] == "tied"

    def dropped(margin: float | None) -> dict[str, str]:
        return require_verdict(candidates, wins, margin).set_index("prompt_id")["dropped"].to_dict()

    assert dropped(None) == {"both": "", "split": "", "unjudged": "", "tie": "tied"}
    assert dropped(0.99) == {"both": "", "split": "weak_verdict", "unjudged": "weak_verdict", "tie": "tied"}
    # d = 0.5 exceeds 0.4 but not 0.5 itself ("exceeds", as tribe's pairs.margin).
    assert dropped(0.4)["split"] == "" and dropped(0.5)["split"] == "weak_verdict"
    assert kept_pairs(require_verdict(candidates, wins, 0.99))["prompt_id"].tolist() == ["both"]
    with pytest.raises(ValueError, match="verdict_margin must lie in"):
        require_verdict(candidates, wins, 1.0)


def _same_case(n: int, rates: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` prompts with the same answers and win rates: each draws its own random pick."""
    keys = [("m", f"p{i}") for i in range(n)]
    texts = [chr(ord("a") + s) for s in range(len(rates))]
    return _generations(dict.fromkeys(keys, texts)), _rates(dict.fromkeys(keys, rates))


def test_max_random_chooses_the_best_and_rejects_a_random_other_known_sample():
    generations, rates = _same_case(40, [1.0, 0.5, np.nan, 0.0])
    pairs = selfplay_pairs(generations, rates, "max_random", 0.0, seed=0)
    assert len(pairs) == 40 and (pairs["chosen_sample"] == 0).all()
    # Sample 2 is unknown and sample 0 is the chosen one: the rejected one is 1 or 3, and both happen.
    assert set(pairs["rejected_sample"]) == {1, 3}


def test_random_picks_two_distinct_known_samples_and_chooses_the_better():
    generations, rates = _same_case(60, [1.0, 0.5, 0.0, np.nan])
    pairs = selfplay_pairs(generations, rates, "random", 0.0, seed=0)
    assert len(pairs) == 60 and (pairs["chosen_probs"] > pairs["rejected_probs"]).all()
    # Every pair of the three known samples, the better one (lower index here) chosen.
    assert set(zip(pairs["chosen_sample"], pairs["rejected_sample"], strict=True)) == {(0, 1), (0, 2), (1, 2)}


def test_random_strategies_drop_a_tied_draw():
    generations = _generations({("m", "p"): ["a", "b"]})
    rates = _rates({("m", "p"): [0.5, 0.5]})
    for strategy in ("max_random", "random"):
        candidates = candidate_pairs(generations, rates, strategy, 0.0, seed=1)
        assert candidates["dropped"].tolist() == ["tied"]


def _many() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    keys = [(m, f"p{i}") for m in ("m0", "m1") for i in range(30)]
    generations = _generations({key: [f"{key}{s}" for s in range(5)] for key in keys})
    rates = _rates({key: rng.permutation(5).astype(float).tolist() for key in keys})
    return generations, rates


@pytest.mark.parametrize("strategy", ["max_random", "random"])
def test_a_seed_reproduces_the_pairs_whatever_the_row_order(strategy):
    generations, rates = _many()
    pairs = selfplay_pairs(generations, rates, strategy, 0.0, seed=3)
    pd.testing.assert_frame_equal(pairs, selfplay_pairs(generations, rates, strategy, 0.0, seed=3))
    assert not pairs.equals(selfplay_pairs(generations, rates, strategy, 0.0, seed=4))
    shuffled = generations.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(pairs, selfplay_pairs(shuffled, rates, strategy, 0.0, seed=3))
    # Shuffled rates give the same pair per (model, prompt), listed in the rates' new order.
    reordered = selfplay_pairs(generations, rates.sample(frac=1.0, random_state=2), strategy, 0.0, seed=3)
    key = ["chosen_model", "prompt_id"]
    pd.testing.assert_frame_equal(
        pairs.sort_values(key).reset_index(drop=True), reordered.sort_values(key).reset_index(drop=True)
    )


def test_pairs_satisfy_the_pairs_contract_with_their_extra_columns(tmp_path):
    generations, rates = _case_frames()
    pairs = selfplay_pairs(generations, rates, "max_min", 0.0, seed=0)
    write_table(pairs, tmp_path / "pairs.parquet", PAIRS)
    back = read_table(tmp_path / "pairs.parquet", PAIRS)
    extra = ["chosen_probs", "rejected_probs", "chosen_sample", "rejected_sample"]
    assert list(back.columns) == [*PAIRS.columns, *extra]
    assert back["chosen_probs"].dtype == np.float64 and back["chosen_sample"].dtype == np.int64
    pd.testing.assert_frame_equal(back, pairs, check_dtype=False)
    empty = selfplay_pairs(generations, rates, "max_min", 1.0, seed=0)
    assert empty.empty and list(empty.columns) == [*PAIRS.columns, *extra]
    write_table(empty, tmp_path / "empty.parquet", PAIRS)
    assert read_table(tmp_path / "empty.parquet", PAIRS).empty


def test_end_to_end_from_judgments_to_pairs():
    # K=3 on one prompt; the ranker prefers sample 2 over both others and 1 over 0 in both orders:
    # win rates 0 -> 0, 1 -> 0.5, 2 -> 1; max_min chooses 2 and rejects 0 with margin 1.
    matches = comparisons(_prompts(1), ["m"], 3)
    preference = {"m:p0:0:1": -1.0, "m:p0:0:2": -1.0, "m:p0:1:2": -1.0}
    judgments = _judgments([_judgment(mid, "rm", o, p) for mid, p in preference.items() for o in ("ab", "ba")])
    rates = win_rates(matches, judgments, 3)
    np.testing.assert_allclose(rates["win_rate"], [0.0, 0.5, 1.0])
    pairs = selfplay_pairs(_generations({("m", "p0"): ["0", "1", "2"]}), rates, "max_min", 0.0, seed=0)
    assert pairs[["chosen", "rejected", "margin", "match_id"]].values.tolist() == [["2", "0", 1.0, "m:p0:0:2"]]


@pytest.mark.parametrize(
    ("strategy", "margin", "message"),
    [
        ("best", 0.0, "strategy must be one of"),
        ("max_min", -0.1, r"margin must lie in \[0, 1\]"),
        ("max_min", 1.5, r"margin must lie in \[0, 1\]"),
        ("max_min", float("nan"), r"margin must lie in \[0, 1\]"),
    ],
)
def test_bad_strategy_and_margin_are_named(strategy, margin, message):
    generations, rates = _case_frames()
    with pytest.raises(ValueError, match=message):
        selfplay_pairs(generations, rates, strategy, margin, seed=0)


def test_a_rated_sample_without_a_generation_is_an_error():
    generations, rates = _case_frames()
    with pytest.raises(ValueError, match="1 rated sample\\(s\\) have no generation"):
        selfplay_pairs(generations.iloc[1:], rates, "max_min", 0.0, seed=0)


# --- stats ---------------------------------------------------------------------------------------------------------


def test_pair_stats_count_the_pairs_and_why_prompts_have_none():
    generations, rates = _case_frames()
    candidates = candidate_pairs(generations, rates, "max_min", 0.25, seed=0)
    # Kept: ties (0.75 / 0.25) and noise (0.3 / 0); dropped: flat (tied), unknown, same (identical), close (0.2).
    # Correct answers: b (ties, chosen) is right, d wrong; in noise a (chosen) is wrong and c (rejected) right.
    correct = {("m", "ties", 1): True, ("m", "ties", 3): False, ("m", "noise", 0): False, ("m", "noise", 2): True}
    stats = pair_stats(candidates, rates, correct)
    assert stats["candidates"] == 6 and stats["pairs"] == 2
    assert stats["pairs_by_chosen_model"] == {"m": 2}
    assert stats["dropped"] == {"unknown": 1, "identical": 1, "tied": 1, "below_margin": 1, "weak_verdict": 0}
    # 2 of the 17 rated samples are unknown.
    assert stats["extras"]["unknown_win_rate_share"] == pytest.approx(2 / 17)
    assert stats["mean_margin"] == pytest.approx((0.5 + 0.3) / 2)
    assert stats["extras"]["mean_chosen_win_rate"] == pytest.approx((0.75 + 0.3) / 2)
    assert stats["extras"]["mean_rejected_win_rate"] == pytest.approx(0.125)
    assert stats["mean_length_delta_chars"] == 0.0
    assert (stats["chosen_correct"], stats["rejected_correct"], stats["inverted"]) == (0.5, 0.5, 0.5)
    assert pair_stats(candidates, rates)["chosen_correct"] is None
    with pytest.raises(ValueError, match="correctness unknown for 1 paired sample"):
        pair_stats(candidates, rates, {k: v for k, v in correct.items() if k != ("m", "noise", 2)})


def test_pair_stats_without_pairs_are_json_ready():
    generations, rates = _case_frames()
    stats = pair_stats(candidate_pairs(generations, rates, "max_min", 1.0, seed=0), rates, {})
    assert stats["pairs"] == 0 and stats["mean_margin"] is None and stats["chosen_correct"] is None
    empty = candidate_pairs(generations.iloc[:0], rates.iloc[:0], "max_min", 0.0, seed=0)
    assert pair_stats(empty, rates.iloc[:0])["dropped"] == dict.fromkeys(
        ("unknown", "identical", "tied", "below_margin", "weak_verdict"), 0
    )


def test_verified_reads_each_samples_correctness_from_the_verifier():
    # m:p0:0:1 says sample 0 right, 1 wrong; m:p0:2:0 (flipped) says 2 wrong; the invalid row on 1-2 says nothing.
    matches = _matches(MATCH_ROWS[:3])
    rows = [
        ("m:p0:0:1", "verifier", "verifier", "ab", 1.0, 0.0, 1.0, "", True, ""),
        ("m:p0:2:0", "verifier", "verifier", "ab", 0.0, 1.0, -1.0, "", True, ""),
        ("m:p0:1:2", "verifier", "verifier", "ab", None, None, None, "", False, "no answer"),
    ]
    correct = verified(matches, pd.DataFrame(rows, columns=JUDGMENTS.columns))
    assert correct == {("m", "p0", 0): True, ("m", "p0", 1): False, ("m", "p0", 2): False}


def test_previous_comparisons_meet_each_answer_with_the_previous_policys_of_the_same_index():
    prompts = pd.DataFrame(
        {"prompt_id": ["p1", "p2"], "prompt": ["1+1", "2+2"], "reference": ["2", "4"], "split": "preference"}
    )
    rows = previous_comparisons(prompts, ["ada"], 3)
    # 2 prompts x K = 3: answer s of the policy against answer s of the previous policy
    assert rows["match_id"].tolist() == [f"ada:{p}:{s}:previous" for p in ("p1", "p2") for s in range(3)]
    assert (rows["model_b"] == "ada@previous").all() and (rows["sample_a"] == rows["sample_b"]).all()
    assert not is_within(rows).any()


def test_win_rate_vs_previous_averages_the_cross_verdicts():
    prompts = pd.DataFrame({"prompt_id": ["p1"], "prompt": ["1+1"], "reference": ["2"], "split": "preference"})
    within = comparisons(prompts, ["ada"], 2)
    cross = previous_comparisons(prompts, ["ada"], 2)
    matches = pd.concat([within, cross], ignore_index=True)
    rows = [
        # sample 0 beats the previous policy's (d = 1), sample 1 loses in one order and ties in the other (d = -0.5)
        ("ada:p1:0:previous", "ab", 1.0),
        ("ada:p1:1:previous", "ab", -1.0),
        ("ada:p1:1:previous", "ba", 0.0),
        ("ada:p1:0:1", "ab", 1.0),  # a within-policy comparison: not part of this rate
    ]
    judgments = pd.DataFrame(
        [
            {
                "match_id": m,
                "judge": "bix",
                "method": "peer",
                "order": o,
                "score_a": None,
                "score_b": None,
                "preference": p,
                "raw": "",
                "valid": True,
                "error": "",
            }
            for m, o, p in rows
        ]
    )
    # (1 + 1) / 2 = 1 and (1 - 0.5) / 2 = 0.25: mean 0.625 over 2 comparisons
    assert win_rate_vs_previous(matches, judgments) == {"ada": {"win_rate": 0.625, "compared": 2}}
    assert win_rate_vs_previous(within, judgments[judgments["match_id"] == "ada:p1:0:1"]) == {}
