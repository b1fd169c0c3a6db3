import json
import math

import pandas as pd
import pytest

from agon.contracts import GENERATIONS, JUDGMENTS, MATCHES, write_table
from agon.files import read_json
from agon.judging import duels_frame
from agon.judging.audit import audit_judges, plot_audit, write_audit

# Four duels; answer lengths make len(answer_a) - len(answer_b) = +4, -2, +2, -4.
DUELS = [("m0", "a1", "b1", 6, 2), ("m1", "b1", "a2", 2, 4), ("m2", "a1", "a2", 5, 3), ("m3", "b1", "b2", 1, 5)]
MATCHES_FRAME = pd.DataFrame(
    [(m, 0, f"p{m}", "q", "1", a, b) for m, a, b, _, _ in DUELS],
    columns=MATCHES.columns,
)
GENERATIONS_FRAME = pd.DataFrame(
    [
        (f"p{m}", "q", model, 0, "x" * length, length, "stop", 0, "hf", "")
        for m, a, b, len_a, len_b in DUELS
        for model, length in ((a, len_a), (b, len_b))
    ],
    columns=GENERATIONS.columns,
)
DUELS_FRAME = duels_frame(MATCHES_FRAME, GENERATIONS_FRAME)
FAMILIES = {"a1": "alpha", "a2": "alpha", "b1": "beta", "b2": "beta", "ada": "alpha", "bo": "beta"}
# m0: a right; m1: b right; m2, m3: both right or both wrong.
VERIFIER = {"m0": {"ab": 1.0}, "m1": {"ab": -1.0}, "m2": {"ab": 0.0}, "m3": {"ab": 0.0}}


def _judge(judge: str, method: str, preferences: dict[str, dict[str, float | None]]) -> pd.DataFrame:
    """Rows of one judge: match -> order -> preference, None for an invalid verdict."""
    return pd.DataFrame(
        [
            (m, judge, method, order, 0.0, 0.0, p, "", p is not None, "" if p is not None else "unparsable")
            for m, orders in preferences.items()
            for order, p in orders.items()
        ],
        columns=JUDGMENTS.columns,
    ).astype({"preference": float})


def _both(preferences: dict[str, float]) -> dict[str, dict[str, float]]:
    """A judge consistent across orders: the same preference shown either way."""
    return {m: {"ab": p, "ba": p} for m, p in preferences.items()}


def _audit(*judges: pd.DataFrame, family_of: dict[str, str] | None = None) -> dict:
    return audit_judges(MATCHES_FRAME, DUELS_FRAME, pd.concat(judges, ignore_index=True), family_of or {})


def test_a_judge_that_always_picks_the_first_shown_answer_flips_every_duel():
    # "ab" shows A first -> +1; "ba" shows B first -> -1 once mapped back: every duel flips, every non-tie row
    # favours the first-shown answer, and every duel verdict averages to a tie.
    first = _judge("pos", "peer", {m: {"ab": 1.0, "ba": -1.0} for m in ("m0", "m1", "m2", "m3")})
    metrics = _audit(first, _judge("verifier", "verifier", VERIFIER))["judges"]["peer/pos"]
    assert metrics["two_order_duels"] == 4
    assert metrics["order_flip_rate"] == 1.0
    assert metrics["first_position_rate"] == 1.0
    # all verdicts 0: constant, so no correlation; decides none of the two one-correct duels
    assert metrics["length_bias"] is None
    assert metrics["verifier_coverage"] == 0.0 and metrics["verifier_agreement"] is None


def test_a_judge_that_prefers_the_longer_answer_has_a_length_bias():
    # verdicts +1, -1, +1, -1 against gaps +4, -2, +2, -4 (both means 0):
    # r = sum(x y) / sqrt(sum x^2 sum y^2) = (4 + 2 + 2 + 4) / sqrt(4 * 40) = 3 / sqrt(10) = 0.949
    longer = _judge("len", "peer", _both({"m0": 1.0, "m1": -1.0, "m2": 1.0, "m3": -1.0}))
    metrics = _audit(longer)["judges"]["peer/len"]
    assert metrics["length_bias"] == pytest.approx(3 / math.sqrt(10))
    # consistent across orders: no flip; of 8 non-tie rows the first-shown answer wins in ab m0, m2, ba m1, m3
    assert metrics["order_flip_rate"] == 0.0
    assert metrics["first_position_rate"] == 0.5


def test_a_single_order_judge_has_no_order_metrics():
    pointwise = _judge("rm", "reward_model", {"m0": {"ab": 0.3}, "m1": {"ab": -0.2}})
    metrics = _audit(pointwise)["judges"]["reward_model/rm"]
    assert metrics["two_order_duels"] == 0
    assert metrics["order_flip_rate"] is None and metrics["first_position_rate"] is None


def test_invalid_rows_count_as_parse_failures_and_nowhere_else():
    # 8 rows, 3 invalid (m0 ba, m1 both): parse_failure_rate 3/8. The m0 ba row keeps a preference of -1 that
    # must be ignored: counted, m0 would be a third two-order duel, and flipped (2/3 instead of 1/2).
    sloppy = _judge(
        "sloppy",
        "peer",
        {
            "m0": {"ab": 1.0, "ba": -1.0},
            "m1": {"ab": None, "ba": None},
            "m2": {"ab": 1.0, "ba": 1.0},
            "m3": {"ab": -1.0, "ba": 1.0},
        },
    )
    sloppy.loc[(sloppy["match_id"] == "m0") & (sloppy["order"] == "ba"), ["valid", "error"]] = [False, "unparsable"]
    metrics = _audit(sloppy, _judge("verifier", "verifier", VERIFIER))["judges"]["peer/sloppy"]
    assert metrics["judgments"] == 8 and metrics["duels"] == 4
    assert metrics["parse_failure_rate"] == 3 / 8
    # two-order duels m2 (no flip) and m3 (flip)
    assert metrics["two_order_duels"] == 2 and metrics["order_flip_rate"] == 0.5
    # one-correct duels m0 (verdict +1, from ab alone: agrees) and m1 (no valid verdict: an abstention)
    assert metrics["verifier_coverage"] == 0.5 and metrics["verifier_agreement"] == 1.0


def test_same_family_preference_counts_duels_with_exactly_one_kin():
    # ada (alpha): m0 a1-b1 (kin a), m1 b1-a2 (kin b); m2 a1-a2 and m3 b1-b2 have two or no kin.
    # ada favours a1 in m0 and ties m1: 1 of 1 non-tie verdict favours kin (a tie counted as a loss would give 0.5).
    ada = _judge("ada", "peer", _both({"m0": 1.0, "m1": 0.0, "m2": 1.0, "m3": -1.0}))
    # bo (beta): m0 kin b1 (bo favours a1), m1 kin b1 (bo favours b1): 1 of 2.
    bo = _judge("bo", "peer", _both({"m0": 0.5, "m1": 0.5, "m2": 1.0, "m3": 1.0}))
    # stranger has no family
    stranger = _judge("stranger", "peer", _both({"m0": 1.0, "m1": 1.0}))
    judges = _audit(ada, bo, stranger, family_of=FAMILIES)["judges"]
    assert judges["peer/ada"]["same_family_duels"] == 2 and judges["peer/ada"]["same_family_rate"] == 1.0
    assert judges["peer/bo"]["same_family_duels"] == 2 and judges["peer/bo"]["same_family_rate"] == 0.5
    assert judges["peer/stranger"]["same_family_duels"] == 0 and judges["peer/stranger"]["same_family_rate"] is None
    # pooled: (1 + 1) of (1 + 2) non-tie kin verdicts
    assert judges["peer/*"]["same_family_rate"] == pytest.approx(2 / 3)
    assert judges["peer/*"]["judges"] == 3 and judges["peer/*"]["duels"] == 4 + 4 + 2


def test_self_preference_only_where_the_judge_is_a_duellist():
    # a1 fights in m0 (as A: +1 favours itself) and m2 (as A: -1 favours a2): 1 of 2. m1 b1-a2 has kin a2 (b),
    # and a1 favours it (-1): its same-family rate is 1 of 1, with its own duels kept out of it.
    a1 = _judge("a1", "reward_model", {"m0": {"ab": 1.0}, "m1": {"ab": -1.0}, "m2": {"ab": -1.0}})
    ada = _judge("ada", "peer", _both({"m1": 1.0}))
    judges = _audit(a1, ada, family_of=FAMILIES)["judges"]
    assert judges["reward_model/a1"]["self_duels"] == 2 and judges["reward_model/a1"]["self_rate"] == 0.5
    assert judges["reward_model/a1"]["same_family_duels"] == 1 and judges["reward_model/a1"]["same_family_rate"] == 1.0
    assert judges["peer/ada"]["self_duels"] == 0 and judges["peer/ada"]["self_rate"] is None


# x and y (peers, both orders) and z (ab only, invalid on m1, absent from m2); 0 is a tie.
#        m0  m1  m2  m3
#   x    +1  -1  +1   0
#   y    +1  +1  +1  -1
#   z    -1   .   .  -1
#   ver  +1  -1   0   0
X = _judge("x", "peer", _both({"m0": 1.0, "m1": -1.0, "m2": 1.0, "m3": 0.0}))
Y = _judge("y", "peer", _both({"m0": 1.0, "m1": 1.0, "m2": 1.0, "m3": -1.0}))
Z = _judge("z", "reward_model", {"m0": {"ab": -1.0}, "m1": {"ab": None}, "m3": {"ab": -1.0}})
V = _judge("verifier", "verifier", VERIFIER)


def test_agreement_matrix_counts_duels_both_judges_decided():
    agreement = _audit(X, Y, Z, V)["agreement"]
    # x-y: m0 same, m1 differ, m2 same (m3: x ties) -> 2/3; x-z: m0 differs -> 0; y-z: m0 differs, m3 same -> 1/2
    assert agreement["peer/x"]["peer/y"] == pytest.approx(2 / 3)
    assert agreement["peer/x"]["reward_model/z"] == 0.0
    assert agreement["peer/y"]["reward_model/z"] == 0.5
    # the verifier decides m0 and m1 only: x 2/2, y 1/2, z 0/1
    assert agreement["verifier/verifier"]["peer/x"] == 1.0
    assert agreement["verifier/verifier"]["peer/y"] == 0.5
    assert agreement["verifier/verifier"]["reward_model/z"] == 0.0
    # pooled: peers among themselves (x-y and y-x) 4/6; peers with z (0 + 1) / (1 + 2); with the verifier 3/4
    assert agreement["peer/*"]["peer/*"] == pytest.approx(2 / 3)
    assert agreement["peer/*"]["reward_model/*"] == pytest.approx(1 / 3)
    assert agreement["peer/*"]["verifier/verifier"] == 0.75
    # no judge is compared with itself; z is reward_model's only judge
    assert agreement["peer/x"]["peer/x"] is None
    assert agreement["reward_model/*"]["reward_model/*"] is None
    keys = list(agreement)
    assert all(agreement[a][b] == agreement[b][a] for a in keys for b in keys)


def test_verifier_agreement_and_coverage_on_one_correct_duels():
    judges = _audit(X, Y, Z, V)["judges"]
    # one-correct duels m0 (+1) and m1 (-1): x decides both, right both; y right on m0 only
    assert judges["peer/x"]["verifier_coverage"] == 1.0 and judges["peer/x"]["verifier_agreement"] == 1.0
    assert judges["peer/y"]["verifier_coverage"] == 1.0 and judges["peer/y"]["verifier_agreement"] == 0.5
    # z: invalid on m1 (abstains), wrong on m0
    assert judges["reward_model/z"]["one_correct_duels"] == 2
    assert (
        judges["reward_model/z"]["verifier_coverage"] == 0.5 and judges["reward_model/z"]["verifier_agreement"] == 0.0
    )
    assert judges["peer/*"]["verifier_agreement"] == 0.75
    assert judges["verifier/verifier"]["verifier_agreement"] == 1.0


def test_without_a_verifier_its_metrics_are_none():
    judges = _audit(X, Y)["judges"]
    assert set(judges) == {"peer/x", "peer/y", "peer/*"}
    assert all(m["verifier_agreement"] is None and m["verifier_coverage"] is None for m in judges.values())


def test_keys_are_grouped_by_method_with_the_pooled_key_last():
    audit = _audit(Z, V, Y, X)
    expected = ["peer/x", "peer/y", "peer/*", "reward_model/z", "reward_model/*", "verifier/verifier", "verifier/*"]
    assert list(audit["judges"]) == expected and list(audit["agreement"]) == expected
    assert audit["duels"] == 4


def test_audit_is_strict_json_even_where_metrics_are_undefined():
    # the first-position judge ties every duel: constant verdicts, no agreement, no same-family verdict
    first = _judge("pos", "peer", {m: {"ab": 1.0, "ba": -1.0} for m in ("m0", "m1")})
    audit = _audit(first, Z, family_of=FAMILIES)
    assert json.loads(json.dumps(audit, allow_nan=False)) == audit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda j: j.assign(match_id="m9"), "missing from the matches"),
        (lambda j: j.assign(order="xy"), "unknown order"),
        (lambda j: pd.concat([j, j]), "repeated"),
    ],
)
def test_stray_or_repeated_rows_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        _audit(change(X))


def test_write_audit_round_trip(tmp_path):
    write_table(MATCHES_FRAME, tmp_path / "matches.parquet", MATCHES)
    write_table(GENERATIONS_FRAME, tmp_path / "generations.parquet", GENERATIONS)
    paths = []
    for name, frame in {"x": X, "y": Y, "z": Z, "verifier": V}.items():
        write_table(frame, tmp_path / f"{name}.parquet", JUDGMENTS)
        paths.append(tmp_path / f"{name}.parquet")
    out_json, out_png = tmp_path / "audit" / "audit.json", tmp_path / "audit" / "audit.png"
    audit = write_audit(
        tmp_path / "matches.parquet", paths, out_json, out_png, {}, generation_paths=[tmp_path / "generations.parquet"]
    )
    assert read_json(out_json) == audit == _audit(X, Y, Z, V)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "audit").iterdir()) == ["audit.json", "audit.png"]


def test_judgments_without_rows_give_an_empty_audit_and_a_plot_saying_so(tmp_path):
    audit = audit_judges(MATCHES_FRAME, DUELS_FRAME, X.iloc[:0], {})
    assert audit == {"judges": {}, "agreement": {}, "duels": 4}
    plot_audit(audit, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
