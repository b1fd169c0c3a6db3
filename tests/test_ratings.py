import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agon.contracts import JUDGMENTS, MATCHES, write_table
from agon.files import read_json, write_json
from agon.ratings import (
    SCHEMES,
    EloConfig,
    SpartaConfig,
    duel_verdicts,
    fit_elo,
    fit_ratings,
    fit_sparta,
    rate_iteration,
    rating_config,
    ratings_of,
)

from .testing_utils import close, judgments_of, matches_of, through_json, verdicts_of


def _sparta_state(**players: tuple[float, list[float], int]) -> dict:
    """A previous SPARTA document from name=(rating, recent_changes, updates)."""
    return {
        "scheme": "sparta",
        "models": {
            name: {"rating": r, "recent_changes": changes, "updates": n} for name, (r, changes, n) in players.items()
        },
    }


# --- verdicts ---------------------------------------------------------------------------------------------


def test_verdict_weighs_judges_averages_orders_and_drops_duellists_and_invalid_rows():
    matches = matches_of(("m1", "a", "b"))
    judgments = judgments_of(
        ("m1", "a", "ab", 1.0),  # a judges its own duel: never counts
        ("m1", "c", "ab", 1.0),  # c: mean of both orders = (1 + 0) / 2 = 0.5
        ("m1", "c", "ba", 0.0),
        ("m1", "e", "ab", -1.0),  # e: its B-A verdict is invalid, so -1 from A-B alone
        ("m1", "e", "ba", None),
        ("m1", "verifier", "ab", 1.0),  # outside the population: weight 1
    )
    verdicts = duel_verdicts(matches, judgments, {"a": 5.0, "c": 3.0, "e": 1.0})
    # d = (3 * 0.5 + 1 * -1 + 1 * 1) / (3 + 1 + 1) = 1.5 / 5 = 0.3
    assert verdicts["d"].tolist() == pytest.approx([0.3])
    assert verdicts["n_judges"].tolist() == [3]
    assert list(verdicts.columns) == ["match_id", "round", "prompt_id", "model_a", "model_b", "d", "n_judges"]


def test_verdicts_keep_match_order_and_mark_unjudged_duels_nan():
    matches = matches_of(("m2", "a", "b"), ("m1", "b", "c"), ("m3", "a", "c"))
    judgments = judgments_of(
        ("m1", "a", "ab", -0.5),
        ("m2", "a", "ab", 1.0),  # only the duellist itself judged m2
        ("m3", "b", "ab", None),  # and only an invalid verdict reached m3
    )
    verdicts = duel_verdicts(matches, judgments, {})
    assert verdicts["match_id"].tolist() == ["m2", "m1", "m3"]
    assert verdicts["d"].isna().tolist() == [True, False, True]
    assert verdicts.loc[1, "d"] == -0.5
    assert verdicts["n_judges"].tolist() == [0, 1, 0]


def test_verdict_falls_back_to_the_plain_mean_when_all_judges_weigh_zero():
    judgments = judgments_of(("m1", "c", "ab", 1.0), ("m1", "e", "ab", 0.0))
    verdicts = duel_verdicts(matches_of(("m1", "a", "b")), judgments, {"c": 0.0, "e": 0.0})
    # weights sum to 0 -> (1 + 0) / 2
    assert verdicts["d"].tolist() == [0.5]


def test_judgments_of_unknown_matches_and_negative_weights_are_errors():
    with pytest.raises(ValueError, match=r"missing from the matches table, e.g. \['m9'\]"):
        duel_verdicts(matches_of(("m1", "a", "b")), judgments_of(("m9", "c", "ab", 1.0)), {})
    with pytest.raises(ValueError, match=r"weights must be >= 0"):
        duel_verdicts(matches_of(("m1", "a", "b")), judgments_of(("m1", "c", "ab", 1.0)), {"c": -1.0})


# --- SPARTA -----------------------------------------------------------------------------------------------

# The authors' update and step sizes; Agon's default centres the update (tests further down).
AUTHORS_KEYS = {"centered": False, "k0": 10.0, "k_min": 5.0}
AUTHORS = SpartaConfig(**AUTHORS_KEYS)


def test_sparta_duel_between_equals_moves_by_k0_tanh_sigma_eps():
    # z = 0 -> f = max(|Phi(0) - Phi(0)|, eps) = 0.01; K = 10 * 0.9 ** 0 = 10; sigma = sigma_init = 1
    # delta = 10 * 1 * tanh(1) * 0.01 / 1 = 0.07615941559557649
    doc = fit_sparta(verdicts_of(("a", "b", 1.0)), None, ["a", "b"], AUTHORS)
    assert doc["models"]["a"]["rating"] == close(50.07615941559557649)
    assert doc["models"]["b"]["rating"] == close(49.92384058440442351)
    assert doc["models"]["a"]["recent_changes"] == close([0.07615941559557649])
    assert doc["duels"] == 1


def test_sparta_duel_between_unequal_ratings_uses_the_normal_cdf_factor():
    # 51 vs 50, both sigma 1: z = 1 / sqrt(2); Phi(z) - Phi(-z) = erf(z / sqrt(2)) = erf(0.5) = 0.5204998778130465
    # d = 0.5: delta_a = 10 * 0.5 * tanh(1) * 0.5204998778 = 1.9820483255905295, delta_b = -1.9820483255905295
    state = _sparta_state(a=(51.0, [], 0), b=(50.0, [], 0))
    doc = fit_sparta(verdicts_of(("a", "b", 0.5)), state, ["a", "b"], AUTHORS)
    assert doc["models"]["a"]["rating"] == close(52.9820483255905295)
    assert doc["models"]["b"]["rating"] == close(48.0179516744094705)


def test_sparta_k_decays_with_updates_down_to_k_min():
    # a has 10 updates: K_a = max(5, 10 * 0.9 ** 1) = 9; b has 70: 10 * 0.9 ** 7 = 4.78 -> K_b = k_min = 5
    # delta_a = 9 * tanh(1) * 0.01 = 0.06854347403601884, delta_b = -5 * tanh(1) * 0.01 = -0.03807970779778824
    state = _sparta_state(a=(50.0, [], 10), b=(50.0, [], 70))
    doc = fit_sparta(verdicts_of(("a", "b", 1.0)), state, ["a", "b"], AUTHORS)
    assert doc["models"]["a"]["rating"] == close(50.06854347403601884)
    assert doc["models"]["b"]["rating"] == close(49.96192029220221176)
    assert (doc["models"]["a"]["updates"], doc["models"]["b"]["updates"]) == (11, 71)


def test_sparta_sigma_is_the_spread_of_the_last_window_changes():
    # a's last 2 changes (window 2) are [0, 1]: std 0.5 (the older 9.0 has left the window);
    # b's are [0.2, 0.2]: std 0 -> sigma_min 0.1.
    # Equal ratings: f = eps; delta_a = 10 * tanh(0.5) * 0.01 = 0.046211715726000974,
    # delta_b = -10 * tanh(0.1) * 0.01 = -0.009966799462495582
    cfg = SpartaConfig(**AUTHORS_KEYS, window=2)
    state = _sparta_state(a=(50.0, [9.0, 0.0, 1.0], 0), b=(50.0, [0.2, 0.2], 0))
    doc = fit_sparta(verdicts_of(("a", "b", 1.0)), state, ["a", "b"], cfg)
    assert doc["models"]["a"]["rating"] == close(50.046211715726000974)
    assert doc["models"]["b"]["rating"] == close(49.990033200537504418)
    # a's window is now [1.0, 0.046...]: sigma = std = (1 - 0.046211715726) / 2 = 0.476894142137
    assert doc["models"]["a"]["recent_changes"] == close([1.0, 0.046211715726000974])
    assert doc["models"]["a"]["uncertainty"] == close(0.476894142136999513)


def test_sparta_ratings_stop_at_the_floor():
    # k0 = 1000 between equals at 12: delta = 1000 * tanh(1) * 0.01 = 7.615941559557649;
    # b would fall to 4.38, the floor keeps it at 10, and the change recorded is the one applied (-2)
    cfg = SpartaConfig(centered=False, k0=1000.0, k_min=1000.0, initial_rating=12.0)
    doc = fit_sparta(verdicts_of(("a", "b", 1.0)), None, ["a", "b"], cfg)
    assert doc["models"]["a"]["rating"] == close(19.615941559557649)
    assert doc["models"]["b"]["rating"] == 10.0
    assert doc["models"]["b"]["recent_changes"] == close([-2.0])


def test_centered_sparta_moves_by_the_surprise():
    # Centred defaults: K = 4, spread 40. 60 vs 50, both sigma 1: expected d = erf(10 / 40 / sqrt(2))
    # = erf(0.1767766952966369) = 0.19741265136584743; a wins outright (d = 1):
    # delta_a = 4 * (1 - 0.19741265136584743) * tanh(1) = 2.4449833374552106, delta_b = -delta_a.
    state = _sparta_state(a=(60.0, [], 0), b=(50.0, [], 0))
    doc = fit_sparta(verdicts_of(("a", "b", 1.0)), state, ["a", "b"], SpartaConfig())
    assert doc["models"]["a"]["rating"] == close(62.4449833374552106)
    assert doc["models"]["b"]["rating"] == close(47.5550166625447894)
    # A draw between them is a surprise too: it pulls the two together by
    # 4 * 0.19741265136584743 * tanh(1) = 0.60139328636785.
    doc = fit_sparta(verdicts_of(("a", "b", 0.0)), state, ["a", "b"], SpartaConfig())
    assert doc["models"]["a"]["rating"] == close(59.39860671363215)


def test_centered_sparta_settles_where_the_authors_form_runs_away():
    # a wins 75% of its duels against b (E[d] = 0.5): the probit fixed point is a gap of
    # spread * sqrt(2) * erfinv(0.5) = 40 * 0.6744897501960817 = 26.98 points.
    rng = np.random.default_rng(0)
    d = np.where(rng.random(4000) < 0.75, 1.0, -1.0)
    duels = [("a", "b", float(x)) for x in d]
    gaps = {}
    for label, cfg in {"centered": SpartaConfig(), "authors": AUTHORS}.items():
        half = fit_sparta(verdicts_of(*duels[:2000]), None, ["a", "b"], cfg)
        whole = fit_sparta(verdicts_of(*duels[2000:]), through_json(half), ["a", "b"], cfg)
        gaps[label] = [doc["models"]["a"]["rating"] - doc["models"]["b"]["rating"] for doc in (half, whole)]
    assert gaps["centered"][0] == pytest.approx(26.98, abs=6) and gaps["centered"][1] == pytest.approx(26.98, abs=6)
    # The authors' form has no fixed point: b sits at the floor and a keeps climbing with every net win.
    assert gaps["authors"][1] > gaps["authors"][0] + 1000 > 2000


def test_centered_sparta_ranks_by_strength_on_a_round_robin():
    # Four players of known strength (probit gaps of 0.5): the centred ratings order them as the truth does.
    rng = np.random.default_rng(1)
    strength = {"a": 0.0, "b": 0.5, "c": 1.0, "e": 1.5}
    duels = []
    for _ in range(600):
        x, y = rng.choice(list(strength), size=2, replace=False)
        p = 0.5 * (1 + math.erf((strength[x] - strength[y]) / 2))  # P(x beats y) = Phi((s_x - s_y) / sqrt(2))
        duels.append((x, y, 1.0 if rng.random() < p else -1.0))
    ratings = ratings_of(fit_sparta(verdicts_of(*duels), None, list(strength), SpartaConfig()))
    assert sorted(ratings, key=ratings.get) == ["a", "b", "c", "e"]
    assert min(ratings.values()) > 10.0 and max(ratings.values()) < 120.0


def test_sparta_skips_duels_without_a_verdict_and_lists_every_model():
    doc = fit_sparta(verdicts_of(("a", "b", np.nan), ("b", "c", 1.0)), None, ["a", "b", "c", "d"], SpartaConfig())
    assert doc["duels"] == 1
    assert doc["models"]["a"] == {
        "rating": 50.0,
        "uncertainty": 1.0,
        "matches": 0,
        "updates": 0,
        "recent_changes": [],
        "history": [],
    }
    assert doc["models"]["b"]["matches"] == 1
    assert list(doc["models"]) == ["a", "b", "c", "d"]
    assert doc["params"]["floor"] == 10.0


def test_sparta_resumed_from_its_document_equals_one_uninterrupted_run():
    duels = [("a", "b", 1.0), ("b", "c", -0.5), ("a", "c", 0.25)] * 9
    models, cfg = ["a", "b", "c"], SpartaConfig(window=4)  # centred: each duel depends on the ratings before it
    whole = fit_sparta(verdicts_of(*duels), None, models, cfg)
    first = fit_sparta(verdicts_of(*duels[:13]), None, models, cfg)
    resumed = fit_sparta(verdicts_of(*duels[13:]), through_json(first), models, cfg)
    # The same float operations in the same order: equal to the last bit, not just close.
    for name in models:
        for key in ("rating", "uncertainty", "updates", "recent_changes"):
            assert resumed["models"][name][key] == whole["models"][name][key]
        assert whole["models"][name]["history"] == first["models"][name]["history"] + resumed["models"][name]["history"]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("abc")).filter(lambda p: p[0] != p[1]), max_size=20),
    st.floats(10.0, 100.0),
)
def test_sparta_draws_change_no_rating_in_the_authors_form(pairs, start):
    cfg = SpartaConfig(**AUTHORS_KEYS, initial_rating=start)
    doc = fit_sparta(verdicts_of(*[(a, b, 0.0) for a, b in pairs]), None, ["a", "b", "c"], cfg)
    assert set(ratings_of(doc).values()) == {start}


def test_sparta_config_rejects_bad_values_and_unknown_keys():
    with pytest.raises(ValueError, match=r"rating.sparta: window must be >= 2; eps must be > 0; spread must be > 0"):
        SpartaConfig(window=1, eps=0.0, spread=0.0)
    with pytest.raises(ValueError, match=r"rating.sparta: initial_rating 5.0 must be >= floor 10.0"):
        SpartaConfig(initial_rating=5.0)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'kappa'"):
        SpartaConfig.from_dict({"kappa": 1.0})
    assert SpartaConfig.from_dict({"k0": 20.0}) == SpartaConfig(k0=20.0)


# --- Elo --------------------------------------------------------------------------------------------------


def test_elo_one_win_between_equals_moves_ratings_by_half_k():
    # equal ratings -> expected score 0.5 -> update = 32 * (1 - 0.5) = 16
    doc = fit_elo(verdicts_of(("a", "b", 0.2)), None, ["a", "b"], EloConfig())
    assert ratings_of(doc) == {"a": 1016.0, "b": 984.0}
    assert doc["models"]["a"]["uncertainty"] is None


def test_elo_draw_and_loss_from_a_previous_state():
    # a 1200 vs b 1000: E_a = 1 / (1 + 10 ** (-200 / 400)) = 0.7597469266479578
    # draw: a += 32 * (0.5 - 0.7597469266) = -8.311901652734651 -> 1191.6880983472654; b gains as much
    # then c (a newcomer at 1000) beats a: E_c = 1 / (1 + 10 ** (191.688 / 400)) = 0.24909488806312807
    # c += 32 * (1 - 0.2490948881) = 24.02896358198 -> 1024.02896358198; a -> 1167.6591347652854
    state = {"scheme": "elo", "models": {"a": {"rating": 1200.0, "updates": 4}, "b": {"rating": 1000.0, "updates": 4}}}
    doc = fit_elo(verdicts_of(("a", "b", 0.0), ("c", "a", 1.0)), state, ["a", "b", "c"], EloConfig())
    assert doc["models"]["a"]["history"] == close([1191.6880983472654, 1167.6591347652854])
    assert doc["models"]["b"]["rating"] == close(1008.311901652734651)
    assert doc["models"]["c"]["rating"] == close(1024.02896358198)
    assert (doc["models"]["a"]["updates"], doc["models"]["c"]["updates"]) == (6, 1)


def test_elo_shuffled_order_is_reproducible_for_a_seed():
    verdicts = verdicts_of(*[("a", "b", 1.0)] * 5, *[("b", "c", 1.0)] * 5, *[("c", "a", 1.0)] * 5)
    cfg = EloConfig(order="shuffled")
    first, again = (fit_elo(verdicts, None, ["a", "b", "c"], cfg, seed=7) for _ in range(2))
    assert first == again
    other = fit_elo(verdicts, None, ["a", "b", "c"], cfg, seed=8)
    in_order = fit_elo(verdicts, None, ["a", "b", "c"], EloConfig())
    assert ratings_of(first) != ratings_of(other)
    assert ratings_of(first) != ratings_of(in_order)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd"), st.floats(-1.0, 1.0)).filter(
            lambda t: t[0] != t[1]
        ),
        max_size=30,
    )
)
def test_elo_conserves_the_sum_of_ratings(duels):
    doc = fit_elo(verdicts_of(*duels), None, ["a", "b", "c", "d"], EloConfig())
    assert sum(ratings_of(doc).values()) == pytest.approx(4000.0)


# --- the rate stage ---------------------------------------------------------------------------------------


def test_unknown_scheme_names_the_key_and_the_choices():
    with pytest.raises(
        ValueError,
        match=r"rating.scheme: unknown scheme 'glicko'; expected one of \['sparta', 'sparta_dynamic', "
        r"'sparta_static', 'elo', 'bradley_terry', 'weng_lin', 'win_rate'\]",
    ):
        rating_config("glicko", {})
    assert SCHEMES == ("sparta", "sparta_dynamic", "sparta_static", "elo", "bradley_terry", "weng_lin", "win_rate")


def test_fit_ratings_dispatches_on_the_scheme():
    verdicts = verdicts_of(("a", "b", 1.0))
    assert fit_ratings("elo", verdicts, None, ["a", "b"], {"k": 4.0}, seed=0)["models"]["a"]["rating"] == 1002.0
    assert fit_ratings("sparta", verdicts, None, ["a", "b"], {}, seed=0)["scheme"] == "sparta"


def test_rate_iteration_weighs_judges_by_the_previous_ratings(tmp_path):
    write_table(matches_of(("m1", "a", "b")), tmp_path / "matches.parquet", MATCHES)
    write_table(judgments_of(("m1", "c", "ab", 1.0), ("m1", "c", "ba", 1.0)), tmp_path / "c.parquet", JUDGMENTS)
    write_table(judgments_of(("m1", "e", "ab", -1.0), ("m1", "e", "ba", -1.0)), tmp_path / "e.parquet", JUDGMENTS)
    previous = fit_sparta(verdicts_of(), None, ["a", "b", "c", "e"], SpartaConfig())
    previous["models"]["c"]["rating"] = 30.0
    previous["models"]["e"]["rating"] = 10.0
    write_json(previous, tmp_path / "previous.json")
    doc = rate_iteration(
        tmp_path / "matches.parquet",
        [tmp_path / "c.parquet", tmp_path / "e.parquet"],
        tmp_path / "previous.json",
        tmp_path / "out" / "sparta.json",
        "sparta",
        {},
        ["a", "b", "c", "e"],
        seed=0,
    )
    assert read_json(tmp_path / "out" / "sparta.json") == doc
    # Each judge weighs its expected score against the other three, Phi(gap / 40) (spread 40):
    # c: (Phi(-0.5) + Phi(-0.5) + Phi(0.5)) / 3 = (0.3085375 * 2 + 0.6914625) / 3 = 0.4361792
    # e: (Phi(-1) + Phi(-1) + Phi(-0.5)) / 3 = (0.1586553 * 2 + 0.3085375) / 3 = 0.2086160
    assert doc["judge_weights"]["c"] == pytest.approx(0.4361792, rel=1e-6)
    assert doc["judge_weights"]["e"] == pytest.approx(0.2086160, rel=1e-6)
    assert doc["tie_band"] == 0.0
    # d = (0.4361792 - 0.2086160) / (0.4361792 + 0.2086160) = 0.3529235 between equals (centred: expected 0):
    # delta = 4 * 0.3529235 * tanh(1) = 1.0751368
    assert doc["models"]["a"]["rating"] == pytest.approx(51.0751368, rel=1e-8)
    assert doc["models"]["c"]["rating"] == 30.0


def test_rate_iteration_refuses_another_schemes_document(tmp_path):
    write_table(matches_of(("m1", "a", "b")), tmp_path / "matches.parquet", MATCHES)
    write_table(judgments_of(("m1", "c", "ab", 1.0)), tmp_path / "c.parquet", JUDGMENTS)
    write_json(fit_elo(verdicts_of(), None, ["a", "b", "c"], EloConfig()), tmp_path / "elo.json")
    with pytest.raises(ValueError, match=r"holds 'elo' ratings, cannot continue them as 'sparta'"):
        rate_iteration(
            tmp_path / "matches.parquet",
            [tmp_path / "c.parquet"],
            tmp_path / "elo.json",
            tmp_path / "sparta.json",
            "sparta",
            {},
            ["a", "b", "c"],
            seed=0,
        )
