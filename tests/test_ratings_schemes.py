"""The schemes beside SPARTA and Elo: Bradley-Terry, Weng-Lin, win rate, and SPARTA's judge weightings."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agon.contracts import JUDGMENTS, MATCHES, write_table
from agon.files import write_json
from agon.ratings import (
    SCHEMES,
    BradleyTerryConfig,
    SpartaConfig,
    SpartaDynamicConfig,
    WengLinConfig,
    WinRateConfig,
    audit_quality,
    bradley_terry,
    duel_verdicts,
    expected_scores,
    fit_bradley_terry,
    fit_ratings,
    fit_sparta,
    fit_weng_lin,
    fit_win_rate,
    judge_weights,
    rate_iteration,
    rating_config,
    ratings_of,
    weigh_by_audit,
    weng_lin,
    win_rate,
)
from agon.ratings.sparta import rank_weights

from .testing_utils import close, judgments_of, matches_of, through_json, verdicts_of

# a beats b 3 times of 4: P(a beats b) = 3/4, odds 3, logit ln 3, so R_a - R_b = 400 * log10(3) = 190.848501887865
THREE_OF_FOUR = (("a", "b", 1.0), ("b", "a", -0.5), ("a", "b", 0.2), ("a", "b", -1.0))
GAP_3_TO_1 = 190.848501887865


def _ci_width(document: dict, name: str) -> float:
    return document["models"][name]["ci_high"] - document["models"][name]["ci_low"]


# --- Bradley-Terry ----------------------------------------------------------------------------------------


def test_bt_three_wins_of_four_is_400_log10_3_points_above_the_anchor():
    cfg = BradleyTerryConfig(l2=0.0, anchor="b", bootstrap_rounds=0)
    doc = fit_bradley_terry(verdicts_of(*THREE_OF_FOUR), None, ["a", "b"], cfg)
    assert doc["models"]["b"]["rating"] == 1000.0
    assert doc["models"]["a"]["rating"] == pytest.approx(1000.0 + GAP_3_TO_1, abs=1e-9)
    # the model the ratings claim: 1 / (1 + 10 ** (-190.85 / 400)) = 1 / (1 + 1/3) = 3/4
    assert bradley_terry.win_probabilities(doc, ["a"], ["b"]) == pytest.approx([0.75])
    assert doc["pair_counts"] == [{"model_a": "a", "model_b": "b", "wins": 3, "ties": 0, "losses": 1}]
    assert doc["models"]["a"]["uncertainty"] is None and doc["models"]["a"]["ci_low"] is None


def test_bt_without_anchor_centres_the_mean_on_base_and_scale_sets_the_unit():
    # mean at 1000: +-200 * log10(3) = +-95.42425094393249; scale 100 puts 10:1 odds at 100 points
    doc = fit_bradley_terry(
        verdicts_of(*THREE_OF_FOUR), None, ["a", "b"], BradleyTerryConfig(l2=0.0, bootstrap_rounds=0)
    )
    assert ratings_of(doc) == pytest.approx({"a": 1095.4242509439325, "b": 904.5757490560675}, abs=1e-9)
    cfg = BradleyTerryConfig(l2=0.0, bootstrap_rounds=0, base=0.0, scale=100.0)
    doc = fit_bradley_terry(verdicts_of(*THREE_OF_FOUR), None, ["a", "b"], cfg)
    assert doc["models"]["a"]["rating"] - doc["models"]["b"]["rating"] == pytest.approx(100 * math.log10(3))


def test_bt_ties_count_as_half_a_win_for_each_side():
    # two wins and two ties: 2 + 2 * 0.5 = 3 wins of 4 for a, the same fit as three wins and a loss
    cfg = BradleyTerryConfig(l2=0.0, anchor="b", bootstrap_rounds=0)
    doc = fit_bradley_terry(
        verdicts_of(("a", "b", 1.0), ("a", "b", 0.0), ("b", "a", 0.0), ("a", "b", 0.5)), None, ["a", "b"], cfg
    )
    assert doc["models"]["a"]["rating"] == pytest.approx(1000.0 + GAP_3_TO_1, abs=1e-9)
    assert doc["pair_counts"] == [{"model_a": "a", "model_b": "b", "wins": 2, "ties": 2, "losses": 0}]
    # only ties: no one is better
    doc = fit_bradley_terry(verdicts_of(("a", "b", 0.0), ("b", "a", 0.0)), None, ["a", "b"], cfg)
    assert ratings_of(doc) == pytest.approx({"a": 1000.0, "b": 1000.0})


def test_bt_anchor_holds_one_model_and_shifts_the_rest_together():
    duels = verdicts_of(("a", "b", 1.0), ("b", "c", 1.0), ("c", "a", -1.0), ("a", "b", -1.0), ("b", "c", 0.0))
    by_anchor = {
        anchor: ratings_of(
            fit_bradley_terry(duels, None, ["a", "b", "c"], BradleyTerryConfig(anchor=anchor, bootstrap_rounds=0))
        )
        for anchor in ("a", "c")
    }
    assert by_anchor["a"]["a"] == 1000.0 and by_anchor["c"]["c"] == 1000.0
    shift = by_anchor["a"]["a"] - by_anchor["c"]["a"]
    assert {m: r - shift for m, r in by_anchor["a"].items()} == pytest.approx(by_anchor["c"])


def test_bt_l2_keeps_a_clean_sweep_finite_at_its_first_order_condition():
    # a wins 4 of 4. The ridge optimum (t_a = -t_b = g / 2) solves 4 (1 - s(g)) = l2 * g / 2, g in logits.
    doc = fit_bradley_terry(
        verdicts_of(*[("a", "b", 1.0)] * 4), None, ["a", "b"], BradleyTerryConfig(bootstrap_rounds=0)
    )
    g = (doc["models"]["a"]["rating"] - doc["models"]["b"]["rating"]) * math.log(10) / 400
    assert 4 * (1 - 1 / (1 + math.exp(-g))) == pytest.approx(1.0e-3 * g / 2, rel=1e-6)
    assert 5 < g < 10  # about 1100 points: large, but a number


def test_bt_models_without_duels_stay_at_base_without_an_interval():
    doc = fit_bradley_terry(
        verdicts_of(("a", "b", 1.0), ("a", "b", -1.0), ("c", "d", np.nan)),
        None,
        ["a", "b", "c"],
        BradleyTerryConfig(),
        seed=3,
    )
    assert doc["models"]["c"] == {
        "rating": 1000.0,
        "uncertainty": None,
        "ci_low": None,
        "ci_high": None,
        "matches": 0,
        "updates": 0,
        "recent_changes": [],
        "history": [],
    }
    assert doc["duels"] == 2


# 80 wins of 100: p = 0.8, and the gap's variance is 1 / (N p (1 - p)) = 1 / 16 in logits (the binomial's)
EIGHTY_OF_A_HUNDRED = [("a", "b", 1.0)] * 80 + [("a", "b", -1.0)] * 20
POINTS = 400 / math.log(10)  # rating points per logit
Z_95 = 1.9599639845400536


def test_bt_sandwich_interval_of_two_models_is_the_binomial_standard_error():
    cfg = BradleyTerryConfig(l2=0.0, intervals="sandwich")
    centred = fit_bradley_terry(verdicts_of(*EIGHTY_OF_A_HUNDRED), None, ["a", "b"], cfg)
    # about the mean, each rating is half the gap: sd = POINTS * 0.25 / 2 = 21.714724
    a = centred["models"]["a"]
    assert a["uncertainty"] == pytest.approx(POINTS / 8, rel=1e-9) == 21.71472409516259
    assert (a["ci_low"], a["ci_high"]) == pytest.approx(
        (a["rating"] - Z_95 * POINTS / 8, a["rating"] + Z_95 * POINTS / 8)
    )
    # held to b, a's rating is the whole gap (sd 43.429448) and b's interval is zero-width: b is the reference
    anchored = fit_bradley_terry(verdicts_of(*EIGHTY_OF_A_HUNDRED), None, ["a", "b"], cfg.__class__(
        l2=0.0, intervals="sandwich", anchor="b"))  # fmt: skip
    assert anchored["models"]["a"]["uncertainty"] == pytest.approx(POINTS / 4, rel=1e-9)
    b = anchored["models"]["b"]
    assert (b["rating"], b["uncertainty"], b["ci_low"], b["ci_high"]) == (1000.0, 0.0, 1000.0, 1000.0)


def test_bt_sandwich_counts_ties_as_less_noisy_than_wins_and_losses():
    # 60 wins and 40 ties: the same p = 0.8 and the same fit, but each duel's score is off by 0.2 (a win) or 0.3 (a
    # tie) instead of 0.2 or 0.8: the meat is 60 * 0.04 + 40 * 0.09 = 6 against the bread's 16, so the gap's
    # variance is 6 / 16^2 and its sd POINTS * sqrt(6) / 16 = 26.594997 (against 43.43 for wins and losses)
    ties = [("a", "b", 1.0)] * 60 + [("a", "b", 0.0)] * 40
    cfg = BradleyTerryConfig(l2=0.0, intervals="sandwich", anchor="b")
    doc = fit_bradley_terry(verdicts_of(*ties), None, ["a", "b"], cfg)
    assert doc["models"]["a"]["rating"] - 1000.0 == pytest.approx(POINTS * math.log(4), rel=1e-9)
    assert doc["models"]["a"]["uncertainty"] == pytest.approx(26.594996969233744, rel=1e-9)


def test_bt_an_anchored_models_bootstrap_interval_is_zero_width_too():
    doc = fit_bradley_terry(
        verdicts_of(*EIGHTY_OF_A_HUNDRED), None, ["a", "b"], BradleyTerryConfig(anchor="b", bootstrap_rounds=50)
    )
    b = doc["models"]["b"]
    assert (b["uncertainty"], b["ci_low"], b["ci_high"]) == (0.0, 1000.0, 1000.0)
    assert doc["models"]["a"]["uncertainty"] > 0


def test_bt_without_a_ridge_warns_when_the_duels_give_no_finite_ratings(caplog):
    # c lost every duel: with l2 = 0 its rating runs off, and Newton stops wherever its steps vanish
    duels = [("a", "b", 1.0), ("b", "a", 1.0), ("a", "c", 1.0), ("b", "c", 1.0), ("c", "a", -1.0)]
    with caplog.at_level("WARNING", logger="agon.ratings.bradley_terry"):
        fit_bradley_terry(verdicts_of(*duels), None, ["a", "b", "c"], BradleyTerryConfig(l2=0.0, bootstrap_rounds=0))
    assert "no finite ratings" in caplog.text and "(['a', 'b']; ['c'])" in caplog.text
    caplog.clear()
    # with the default ridge, or once c has a tie (half a win), every rating is finite: no warning
    with caplog.at_level("WARNING", logger="agon.ratings.bradley_terry"):
        fit_bradley_terry(verdicts_of(*duels), None, ["a", "b", "c"], BradleyTerryConfig(bootstrap_rounds=0))
        tied = [*duels, ("c", "b", 0.0)]
        fit_bradley_terry(verdicts_of(*tied), None, ["a", "b", "c"], BradleyTerryConfig(l2=0.0, bootstrap_rounds=0))
    assert caplog.text == ""


def test_bt_bootstrap_interval_holds_the_estimate_shrinks_with_more_duels_and_repeats_for_a_seed():
    duels = [("a", "b", 1.0), ("a", "b", 1.0), ("b", "a", 1.0), ("b", "c", 1.0), ("c", "b", 1.0), ("a", "c", 1.0)]
    models, cfg = ["a", "b", "c"], BradleyTerryConfig(bootstrap_rounds=300)
    few = fit_bradley_terry(verdicts_of(*duels * 3), None, models, cfg, seed=11)
    many = fit_bradley_terry(verdicts_of(*duels * 30), None, models, cfg, seed=11)
    for doc in (few, many):
        for entry in doc["models"].values():
            assert entry["ci_low"] <= entry["rating"] <= entry["ci_high"]
            assert entry["uncertainty"] > 0
    for name in models:
        # 10x the duels: about sqrt(10) = 3.2x narrower
        assert _ci_width(many, name) < _ci_width(few, name) / 2
    assert fit_bradley_terry(verdicts_of(*duels * 3), None, models, cfg, seed=11) == few
    assert (
        fit_bradley_terry(verdicts_of(*duels * 3), None, models, cfg, seed=12)["models"]["a"]["ci_low"]
        != few["models"]["a"]["ci_low"]
    )


def test_bt_accumulating_iterations_equals_fitting_their_duels_at_once():
    first, second = [("a", "b", 1.0), ("b", "c", -1.0)], [("c", "a", 1.0), ("a", "b", 0.0), ("c", "b", -1.0)]
    models, cfg = ["a", "b", "c"], BradleyTerryConfig(accumulate=True, bootstrap_rounds=0)
    previous = through_json(fit_bradley_terry(verdicts_of(*first), None, models, cfg))
    resumed = fit_bradley_terry(verdicts_of(*second), previous, models, cfg)
    whole = fit_bradley_terry(verdicts_of(*first, *second), None, models, cfg)
    assert ratings_of(resumed) == pytest.approx(ratings_of(whole), abs=1e-9)
    assert resumed["pair_counts"] == whole["pair_counts"]
    assert (resumed["duels"], resumed["fitted_duels"]) == (3, 5)
    assert resumed["models"]["a"]["updates"] == 3  # 1 duel in the first iteration, 2 in the second
    alone = fit_bradley_terry(verdicts_of(*second), previous, models, BradleyTerryConfig(bootstrap_rounds=0))
    assert alone["fitted_duels"] == 3


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd"), st.sampled_from([-1.0, 0.0, 1.0])).filter(
            lambda t: t[0] != t[1]
        ),
        min_size=1,
        max_size=25,
    ),
    st.randoms(use_true_random=False),
)
def test_bt_ratings_do_not_depend_on_row_order_or_model_names(duels, random):
    cfg = BradleyTerryConfig(bootstrap_rounds=0)
    reference = ratings_of(fit_bradley_terry(verdicts_of(*duels), None, list("abcd"), cfg))
    shuffled = random.sample(duels, len(duels))
    rename = dict(zip("abcd", random.sample(["w", "x", "y", "z"], 4), strict=True))
    renamed = [(rename[a], rename[b], d) for a, b, d in shuffled]
    other = ratings_of(fit_bradley_terry(verdicts_of(*renamed), None, sorted(rename.values()), cfg))
    assert {m: other[rename[m]] for m in "abcd"} == pytest.approx(reference, abs=1e-6)


def test_bt_config_rejects_an_anchor_outside_the_population_and_bad_values():
    with pytest.raises(ValueError, match=r"rating.bradley_terry.anchor: 'z' is not one of the models"):
        fit_bradley_terry(verdicts_of(("a", "b", 1.0)), None, ["a", "b"], BradleyTerryConfig(anchor="z"))
    with pytest.raises(ValueError, match=r"rating.bradley_terry.anchor: 'c' has no rated duel"):
        fit_bradley_terry(verdicts_of(("a", "b", 1.0)), None, ["a", "b", "c"], BradleyTerryConfig(anchor="c"))
    with pytest.raises(ValueError, match=r"rating.bradley_terry: scale must be > 0; ci must be in \(0, 1\)"):
        BradleyTerryConfig(scale=0.0, ci=1.0)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'k'"):
        BradleyTerryConfig.from_dict({"k": 1})


# --- Weng-Lin (openskill) ---------------------------------------------------------------------------------


def test_weng_lin_win_moves_the_winner_up_and_shrinks_both_sigmas():
    # Bradley-Terry full, tau 0, equal beliefs mu 25, sigma^2 = 625/9, beta^2 = 625/36:
    # c^2 = 2 sigma^2 + 2 beta^2 = 173.6111, c = 13.176156917368248, p = 1/2
    # mu_a += sigma^2 / c * (1 - 1/2) = 2.63523138347365; loser symmetric
    # gamma = sigma / c = 0.6324555320336759, delta = gamma * sigma^2 / c^2 * p (1 - p) = 0.06324555320336758
    # sigma_a = sqrt(sigma^2 * (1 - delta)) = 8.065506316323546 (< 8.3333)
    doc = fit_weng_lin(verdicts_of(("a", "b", 0.3)), None, ["a", "b"], WengLinConfig(tau=0.0))
    a, b = doc["models"]["a"], doc["models"]["b"]
    assert (a["rating"], b["rating"]) == (close(27.63523138347365), close(22.36476861652635))
    assert (a["uncertainty"], b["uncertainty"]) == (close(8.065506316323546), close(8.065506316323546))
    # 95% interval: mu -+ 1.959963984540054 sigma
    assert a["ci_low"] == close(27.63523138347365 - 1.9599639845400536 * 8.065506316323546)
    assert (a["matches"], a["updates"], a["history"]) == (1, 1, [a["rating"]])


def test_weng_lin_draw_keeps_means_and_shrinks_sigmas():
    doc = fit_weng_lin(verdicts_of(("a", "b", 0.0)), None, ["a", "b"], WengLinConfig())
    assert ratings_of(doc) == close({"a": 25.0, "b": 25.0})
    assert doc["models"]["a"]["uncertainty"] < 25.0 / 3


def test_weng_lin_resumed_from_its_document_equals_one_uninterrupted_run():
    duels = [("a", "b", 1.0), ("b", "c", -0.5), ("a", "c", 0.0), ("c", "a", 1.0)] * 3
    models, cfg = ["a", "b", "c"], WengLinConfig()
    whole = fit_weng_lin(verdicts_of(*duels), None, models, cfg)
    first = fit_weng_lin(verdicts_of(*duels[:5]), None, models, cfg)
    resumed = fit_weng_lin(verdicts_of(*duels[5:]), through_json(first), models, cfg)
    for name in models:
        for key in ("rating", "uncertainty", "updates"):
            assert resumed["models"][name][key] == whole["models"][name][key]


def test_weng_lin_predicts_even_odds_between_equals_and_favours_the_winner():
    doc = fit_weng_lin(verdicts_of(("a", "b", 1.0), ("a", "b", 1.0)), None, ["a", "b", "c"], WengLinConfig())
    p = weng_lin.win_probabilities(doc, ["a", "b", "c"], ["b", "a", "c"])
    assert p[0] > 0.5 and p[0] + p[1] == pytest.approx(1.0) and p[2] == pytest.approx(0.5)


def test_weng_lin_config_checks_its_model_and_order():
    with pytest.raises(
        ValueError, match=r"rating.weng_lin: order must be one of \['match', 'shuffled'\], got 'random'"
    ):
        WengLinConfig(order="random")
    with pytest.raises(KeyError, match="glicko"):
        fit_weng_lin(verdicts_of(("a", "b", 1.0)), None, ["a", "b"], WengLinConfig(model="glicko"))


# --- win rate ---------------------------------------------------------------------------------------------


def test_win_rate_counts_ties_half_with_a_wilson_interval():
    # a: win, tie, loss, win -> (2 + 0.5) / 4 = 0.625; se = sqrt(0.625 * 0.375 / 4) = 0.24206145913796356
    # Wilson, z = 1.9599639845400536, n = 4: centre (0.625 + z^2/8) / (1 + z^2/4) -+ ...
    #   = [0.2194265200653629, 0.9081007708209878]
    doc = fit_win_rate(
        verdicts_of(("a", "b", 1.0), ("b", "a", 0.0), ("a", "b", -0.5), ("b", "a", -1.0)),
        None,
        ["a", "b", "c"],
        WinRateConfig(),
    )
    a = doc["models"]["a"]
    assert (a["rating"], a["uncertainty"]) == (0.625, close(0.24206145913796356))
    assert (a["ci_low"], a["ci_high"]) == (close(0.2194265200653629), close(0.9081007708209878))
    assert (a["wins"], a["ties"], a["losses"], a["matches"]) == (2, 1, 1, 4)
    assert doc["models"]["b"]["rating"] == 0.375
    assert doc["models"]["c"]["rating"] == 0.5 and doc["models"]["c"]["ci_low"] is None
    # Bradley-Terry ratio of strengths: 0.625 / (0.625 + 0.375)
    assert win_rate.win_probabilities(doc, ["a", "c"], ["b", "c"]) == pytest.approx([0.625, 0.5])


def test_win_rate_accumulates_the_previous_counts_on_request():
    previous = through_json(fit_win_rate(verdicts_of(("a", "b", 1.0)), None, ["a", "b"], WinRateConfig()))
    doc = fit_win_rate(verdicts_of(("a", "b", -1.0)), previous, ["a", "b"], WinRateConfig(accumulate=True))
    assert (doc["models"]["a"]["rating"], doc["models"]["a"]["matches"], doc["models"]["a"]["updates"]) == (0.5, 1, 2)
    doc = fit_win_rate(verdicts_of(("a", "b", -1.0)), previous, ["a", "b"], WinRateConfig())
    assert doc["models"]["a"]["rating"] == 0.0


# --- SPARTA's judge weightings ----------------------------------------------------------------------------


def test_rank_weights_silence_the_worst_judge_then_rise_by_step():
    ratings = {"e": 60.0, "a": 40.0, "c": 55.0, "b": 40.0, "d": 70.0}
    # iteration 3: the 3 lowest (a and b tie at 40, a first by name; then c) weigh 0, 0.1, 0.2; the rest 1
    assert rank_weights(ratings, 3, SpartaDynamicConfig()) == close({"a": 0.0, "b": 0.1, "c": 0.2, "e": 1.0, "d": 1.0})
    assert rank_weights(ratings, 0, SpartaDynamicConfig()) == dict.fromkeys(ratings, 1.0)
    # steps never pass 1, and more iterations than judges weigh them all
    assert rank_weights(ratings, 9, SpartaDynamicConfig(step=0.4)) == close(
        {"a": 0.0, "b": 0.4, "c": 0.8, "e": 1.0, "d": 1.0}
    )


def test_dynamic_weights_come_from_the_previous_ranking_and_freeze_after_the_configured_iteration():
    previous = {
        "scheme": "sparta_dynamic",
        "models": {"a": {"rating": 30.0}, "b": {"rating": 50.0}, "c": {"rating": 40.0}},
    }
    params = {"freeze_after": 2}
    assert judge_weights("sparta_dynamic", None, params, 0) == {}
    assert judge_weights("sparta_dynamic", previous, params, 1) == {"a": 0.0, "c": 1.0, "b": 1.0}
    assert judge_weights("sparta_dynamic", previous, params, 2) == close({"a": 0.0, "c": 0.1, "b": 1.0})
    # iteration 3 > freeze_after: the weights the previous document used, whatever its ratings now say
    frozen = {**previous, "judge_weights": {"a": 0.0, "b": 0.1, "c": 1.0}}
    assert judge_weights("sparta_dynamic", frozen, params, 3) == {"a": 0.0, "b": 0.1, "c": 1.0}
    with pytest.raises(ValueError, match=r"frozen after iteration 2, but the previous document records none"):
        judge_weights("sparta_dynamic", previous, params, 3)
    assert judge_weights("sparta_dynamic", previous, {"freeze_after": None}, 30) == close(
        {"a": 0.0, "c": 0.1, "b": 0.2}
    )


def test_static_weights_are_the_configured_ones_and_other_schemes_weigh_by_expected_score():
    previous = {"scheme": "elo", "params": {}, "models": {"a": {"rating": 30.0}, "b": {"rating": -5.0}}}
    assert judge_weights("sparta_static", None, {"weights": {"a": 2.0}}, 0) == {"a": 2.0}
    assert judge_weights("sparta_static", previous, {"weights": {"a": 2.0}}, 5) == {"a": 2.0}
    # Elo's expected score of a 35-point gap: 1 / (1 + 10 ** (-35 / 400)) = 1 / 1.8175230 = 0.5501994
    weights = judge_weights("elo", previous, {}, 1)
    assert weights == {"a": pytest.approx(0.5501994, rel=1e-6), "b": pytest.approx(0.4498006, rel=1e-6)}
    assert judge_weights("bradley_terry", None, {}, 0) == {}
    negative = judge_weights("sparta_static", None, {"weights": {"c": -1.0}}, 0)
    with pytest.raises(ValueError, match=r"judge weights must be >= 0"):
        duel_verdicts(matches_of(("m1", "a", "b")), judgments_of(("m1", "c", "ab", 1.0)), negative)
    with pytest.raises(TypeError, match=r"SpartaDynamicConfig.* unexpected keyword argument 'weights'"):
        rating_config("sparta_dynamic", {"weights": {}})


def test_judge_weights_do_not_move_with_the_rating_scales_base_or_unit():
    duels = verdicts_of(("a", "b", 1.0), ("a", "b", 1.0), ("b", "c", 1.0), ("c", "a", -1.0), ("b", "c", -1.0))
    elo_like = fit_bradley_terry(duels, None, ["a", "b", "c"], BradleyTerryConfig(bootstrap_rounds=0))
    other = BradleyTerryConfig(bootstrap_rounds=0, base=0.0, scale=100.0)
    moved = fit_bradley_terry(duels, None, ["a", "b", "c"], other)
    assert ratings_of(elo_like) != pytest.approx(ratings_of(moved))
    assert expected_scores(elo_like) == pytest.approx(expected_scores(moved), abs=1e-12)
    assert judge_weights("bradley_terry", moved, {}, 1) == expected_scores(moved)
    # SPARTA: the same gaps at another level weigh the same; spread is its unit
    sparta = {"scheme": "sparta", "params": {"spread": 40.0}, "models": {"a": {"rating": 60.0}, "b": {"rating": 20.0}}}
    higher = {**sparta, "models": {"a": {"rating": 160.0}, "b": {"rating": 120.0}}}
    # Phi(40 / 40) = 0.8413447, Phi(-1) = 0.1586553
    assert expected_scores(sparta) == expected_scores(higher) == pytest.approx({"a": 0.8413447, "b": 0.1586553})


def test_a_verdict_that_is_zero_up_to_rounding_is_a_tie():
    # 0.1 + 0.2 - 0.3 is 5.6e-17 in floats: the weighted mean must still be the tie it is
    judgments = judgments_of(("m1", "c", "ab", 1.0), ("m1", "e", "ab", 1.0), ("m1", "f", "ab", -1.0))
    verdicts = duel_verdicts(matches_of(("m1", "a", "b")), judgments, {"c": 0.1, "e": 0.2, "f": 0.3})
    assert verdicts["d"].tolist() == [0.0]


def test_a_near_even_split_stays_a_tie_within_the_band_and_a_clear_one_does_not():
    matches = matches_of(("m1", "a", "b"), ("m2", "a", "b"), ("m3", "a", "b"))
    judgments = judgments_of(
        ("m1", "c", "ab", 1.0), ("m1", "e", "ab", -1.0),  # a split: d = (0.52 - 0.48) / 1 = 0.04
        ("m2", "c", "ab", 1.0), ("m2", "e", "ab", -1.0), ("m2", "f", "ab", 1.0),  # 2 to 1: (0.52 - 0.48 + 0.3) / 1.3
        ("m3", "c", "ab", 0.05),  # one judge, barely for a: not a split, the judge's own verdict
    )  # fmt: skip
    weights = {"c": 0.52, "e": 0.48, "f": 0.3}
    banded = duel_verdicts(matches, judgments, weights, tie_band=0.1)
    assert banded["d"].tolist() == pytest.approx([0.0, 0.34 / 1.3, 0.05])
    assert duel_verdicts(matches, judgments, weights)["d"].tolist() == pytest.approx([0.04, 0.34 / 1.3, 0.05])


def _iteration_files(tmp_path):
    """One duel a-b judged by c (for a, +1) and e (for b, -1)."""
    write_table(matches_of(("m1", "a", "b")), tmp_path / "matches.parquet", MATCHES)
    write_table(judgments_of(("m1", "c", "ab", 1.0), ("m1", "c", "ba", 1.0)), tmp_path / "c.parquet", JUDGMENTS)
    write_table(judgments_of(("m1", "e", "ab", -1.0), ("m1", "e", "ba", -1.0)), tmp_path / "e.parquet", JUDGMENTS)
    return tmp_path / "matches.parquet", [tmp_path / "c.parquet", tmp_path / "e.parquet"]


def test_rate_iteration_weighs_judges_by_rank_under_sparta_dynamic_and_records_the_weights(tmp_path):
    matches, judgments = _iteration_files(tmp_path)
    previous = fit_sparta(verdicts_of(), None, ["a", "b", "c", "e"], SpartaDynamicConfig())
    previous["models"]["e"]["rating"] = 20.0  # e ranks last: weight 0, so c alone decides: d = 1
    write_json(previous, tmp_path / "previous.json")
    args = (
        matches,
        judgments,
        tmp_path / "previous.json",
        tmp_path / "out.json",
        "sparta_dynamic",
        {},
        ["a", "b", "c", "e"],
    )
    doc = rate_iteration(*args, seed=0, iteration=1)
    assert doc["judge_weights"] == {"e": 0.0, "a": 1.0, "b": 1.0, "c": 1.0}
    assert doc["scheme"] == "sparta_dynamic" and doc["params"]["step"] == 0.1
    # between equals with d = 1 (centred: expected 0): delta = 4 * 1 * tanh(1) = 3.0463766238230596
    assert doc["models"]["a"]["rating"] == close(53.0463766238230596)
    # the existing call, without an iteration, is iteration 0: no weighting by rank
    doc = rate_iteration(*args, seed=0)
    assert doc["judge_weights"] == dict.fromkeys("abce", 1.0) and doc["models"]["a"]["rating"] == 50.0


def test_rate_iteration_under_sparta_static_uses_the_configured_weights(tmp_path):
    matches, judgments = _iteration_files(tmp_path)
    # c 3, e 1: d = (3 * 1 + 1 * -1) / 4 = 0.5 -> delta = 4 * 0.5 * tanh(1) = 1.5231883119115295
    params = {"weights": {"c": 3.0, "e": 1.0}}
    doc = rate_iteration(matches, judgments, None, tmp_path / "out.json", "sparta_static", params, list("abce"), seed=0)
    assert doc["models"]["a"]["rating"] == close(51.5231883119115295)
    assert doc["judge_weights"] == {"c": 3.0, "e": 1.0} and doc["params"]["weights"] == {"c": 3.0, "e": 1.0}


def _audit(**judges: tuple[float, float | None]) -> dict:
    """An audit document with each judge's (parse_failure_rate, order_flip_rate), plus a pooled key."""
    entries = {f"peer/{j}": {"parse_failure_rate": p, "order_flip_rate": f} for j, (p, f) in judges.items()}
    return {"judges": {**entries, "peer/*": {"parse_failure_rate": 0.9, "order_flip_rate": 0.9}}, "agreement": {}}


def test_audit_quality_is_the_share_parsed_times_the_share_not_flipped():
    quality = audit_quality(_audit(c=(0.25, 0.5), e=(0.0, None)))
    # c: 0.75 * 0.5; e: one presentation order, nothing can flip: 1.0; the pooled key is not a judge
    assert quality == {"c": 0.375, "e": 1.0}


def test_weigh_by_audit_replaces_or_multiplies_the_reputation():
    reputation, quality = {"c": 30.0, "e": 10.0}, {"c": 0.5, "x": 0.25}
    assert weigh_by_audit(reputation, quality, "reputation") == reputation
    assert weigh_by_audit(reputation, quality, "audit") == {"c": 0.5, "e": 10.0, "x": 0.25}
    # x has no reputation (an outside judge): 1 * 0.25
    assert weigh_by_audit(reputation, quality, "both") == {"c": 15.0, "e": 10.0, "x": 0.25}
    with pytest.raises(ValueError, match=r"rating.judge_weighting: unknown weighting 'vibes'"):
        weigh_by_audit(reputation, quality, "vibes")


def test_rate_iteration_weighs_judges_by_the_previous_audit(tmp_path):
    matches, judgments = _iteration_files(tmp_path)
    # c flips half its verdicts, e none: audit weights 0.5 and 1 -> d = (0.5 * 1 + 1 * -1) / 1.5 = -1/3
    write_json(_audit(c=(0.0, 0.5), e=(0.0, 0.0)), tmp_path / "audit.json")
    args = (matches, judgments, None, tmp_path / "out.json", "sparta_static", {}, list("abce"))
    doc = rate_iteration(*args, seed=0, iteration=1, audit_path=tmp_path / "audit.json", weighting="audit")
    assert doc["judge_weights"] == {"c": 0.5, "e": 1.0}
    # centred SPARTA between equals: delta_a = 4 * (-1/3) * tanh(1) = -1.0154588746076865
    assert doc["models"]["a"]["rating"] == close(48.98454112539231)
    # without an audit weighting the two judges cancel out
    assert rate_iteration(*args, seed=0, iteration=1)["models"]["a"]["rating"] == 50.0


def test_sparta_variants_share_the_normal_update():
    verdicts = verdicts_of(("a", "b", 1.0), ("b", "c", -0.5))
    normal = fit_sparta(verdicts, None, ["a", "b", "c"], SpartaConfig())
    for scheme in ("sparta_dynamic", "sparta_static"):
        doc = fit_ratings(scheme, verdicts, None, ["a", "b", "c"], {}, seed=0)
        assert doc["models"] == normal["models"] and doc["scheme"] == scheme


# --- the registry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_writes_the_common_document_as_strict_json(scheme):
    verdicts = verdicts_of(("a", "b", 1.0), ("b", "c", 0.0), ("c", "a", -0.5), ("a", "b", np.nan))
    doc = fit_ratings(scheme, verdicts, None, ["a", "b", "c", "d"], {}, seed=1)
    assert doc["scheme"] == scheme and doc["duels"] == 3 and rating_config(scheme, doc["params"])
    for entry in doc["models"].values():
        assert {"rating", "uncertainty", "matches", "updates", "recent_changes", "history"} <= set(entry)
    assert doc["models"]["d"]["matches"] == 0 and doc["models"]["a"]["matches"] == 2
    has_ci = scheme in ("bradley_terry", "weng_lin", "win_rate")
    assert ("ci_low" in doc["models"]["a"]) == has_ci
    json.dumps(doc, allow_nan=False)  # no NaN reaches the file


def test_accumulated_bradley_terry_drops_duels_of_models_that_left_the_population():
    import pandas as pd

    from agon.ratings import fit_ratings

    verdicts = pd.DataFrame(
        {
            "match_id": ["m0", "m1"],
            "round": [0, 0],
            "prompt_id": ["p0", "p1"],
            "model_a": ["a", "a"],
            "model_b": ["b", "b"],
            "d": [1.0, -1.0],
            "n_judges": [1, 1],
        }
    )
    params = {"accumulate": True, "bootstrap_rounds": 0}
    first = fit_ratings("bradley_terry", verdicts, None, ["a", "b", "gone"], params, seed=0)
    first["pair_counts"].append({"model_a": "a", "model_b": "gone", "wins": 3, "ties": 0, "losses": 0})
    second = fit_ratings("bradley_terry", verdicts, first, ["a", "b"], params, seed=0)
    assert set(second["models"]) == {"a", "b"}
    assert second["models"]["a"]["rating"] == pytest.approx(second["models"]["b"]["rating"])
