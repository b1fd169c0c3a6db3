import math

import numpy as np
import pandas as pd
import pytest

from agon.config import load_schema, validate_config
from agon.contracts import JUDGMENTS, MATCHES, PAIRS, PROMPTS, read_table, write_table
from agon.debate.config import DebateConfig, turns
from agon.debate.outcomes import debate_verdicts, outcomes
from agon.debate.pairs import CANDIDATE_COLUMNS, pair_stats, speech_candidates
from agon.debate.schedule import distractor, schedule
from agon.debate.speeches import REQUEST_COLUMNS, round_of, speech_requests, speeches_frame
from agon.debate.transcript import TRANSCRIPT_COLUMNS, judge_inputs
from agon.judging.protocol import DUEL_COLUMNS

from .testing_utils import REPO, branch_pairs

SCHEMA = load_schema(REPO / "config" / "schema.yaml")


def _prompts(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prompt_id": [f"p{i}" for i in range(n)],
            "prompt": [f"What is {i}+5?" for i in range(n)],
            "reference": [str(i + 5) for i in range(n)],
            "split": ["preference"] * n,
        },
        columns=PROMPTS.columns,
    )


# Hand-built debates: (id, question, reference, model_a, model_b, answer_a, answer_b, correct).
DEBATES = {
    "d1": ("12+5=", "17", "x", "y", "17", "16", "a"),
    "d2": ("4+4=", "8", "y", "x", "9", "8", "b"),
    "d3": ("2+1=", "3", "x", "y", "3", "5", "a"),
    "d4": ("0+1=", "1", "y", "x", "1", "2", "a"),
    "d5": ("5+5=", "10", "y", "x", "10", "11", "a"),
}


def _debates(ids: list[str]) -> pd.DataFrame:
    rows = [(i, 0, f"p-{i}", *DEBATES[i][:2], *DEBATES[i][2:]) for i in ids]
    return pd.DataFrame(rows, columns=[*MATCHES.columns, "answer_a", "answer_b", "correct"])


def _speech(match_id: str, turn: int, side: str, speaker: str, texts: tuple[str, str], rnd: int = 0) -> list[tuple]:
    return [
        (match_id, turn, rnd, side, speaker, alt, f"prompt {match_id}/t{turn}/{side}", texts[alt]) for alt in (0, 1)
    ]


def _transcript(speeches: list[list[tuple]]) -> pd.DataFrame:
    return pd.DataFrame([row for speech in speeches for row in speech], columns=TRANSCRIPT_COLUMNS)


def _judgment(match_id: str, judge: str, order: str, preference: float | None, valid: bool = True) -> tuple:
    return (match_id, judge, "peer", order, 0.0, 0.0, preference, "", valid, "" if valid else "unparsed")


def _judgments(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=JUDGMENTS.columns).astype({"preference": float})


# --- config ------------------------------------------------------------------------------------------------------


def test_config_defaults_and_from_dict():
    assert DebateConfig() == DebateConfig(rounds=2, format="sequential", margin=0.0)
    assert DebateConfig.from_dict({"rounds": 3, "format": "simultaneous", "margin": 0.25}) == DebateConfig(
        3, "simultaneous", 0.25
    )
    assert DebateConfig.from_dict({}) == DebateConfig()


def _validated(cfg: dict) -> DebateConfig:
    """A DebateConfig as the workflow builds one: from the ``debate`` section of a config the schema validated."""
    return DebateConfig.from_dict(validate_config({"debate": cfg}, SCHEMA)["debate"])


def test_config_names_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'judges', 'turns' at 'debate'"):
        _validated({"rounds": 1, "turns": 2, "judges": []})


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"rounds": 0}, "debate.rounds"),
        ({"rounds": True}, "debate.rounds"),
        ({"rounds": 1.5}, "debate.rounds"),
        ({"format": "parallel"}, "debate.format"),
        ({"margin": 1.5}, "debate.margin"),
        ({"margin": -0.1}, "debate.margin"),
        ({"margin": math.nan}, "debate.margin"),
        ({"margin": "0.1"}, "debate.margin"),
    ],
)
def test_config_rejects_bad_values_naming_the_key(cfg, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        _validated(cfg)


# --- schedule ----------------------------------------------------------------------------------------------------


def test_schedule_satisfies_the_matches_contract_with_candidates(tmp_path):
    matches = schedule(_prompts(4), ["x", "y"], seed=3)
    assert list(matches.columns) == [*MATCHES.columns, "answer_a", "answer_b", "correct", "background"]
    assert (matches["background"] == "").all()  # these prompts have no background passage
    assert matches["match_id"].tolist() == ["debate-p0", "debate-p1", "debate-p2", "debate-p3"]
    assert (matches["round"] == 0).all()
    assert matches["prompt"].tolist() == [f"What is {i}+5?" for i in range(4)]
    for row in matches.itertuples(index=False):
        right, wrong = (row.answer_a, row.answer_b) if row.correct == "a" else (row.answer_b, row.answer_a)
        assert right == row.reference
        assert 1 <= abs(int(wrong) - int(right)) <= 3
    write_table(matches, tmp_path / "m.parquet", MATCHES)
    back = read_table(tmp_path / "m.parquet", MATCHES)
    pd.testing.assert_frame_equal(back, matches, check_dtype=False)


def _rotation_of(pairs: list[tuple[str, str]], cycle: list[tuple[str, str]]) -> bool:
    return any(pairs == (cycle[k:] + cycle[:k])[: len(pairs)] for k in range(len(cycle)))


def test_schedule_cycles_through_every_ordered_pair_with_sides_flipped():
    # Three debaters -> 3 * 2 = 6 ordered pairs, in blocks of one offset k: k=1 (0,1),(1,2),(2,0); k=2 (0,2),(1,0),
    # (2,1). Each block has every debater once as a and once as b; the schedule starts at a seeded point.
    cycle = [("m0", "m1"), ("m1", "m2"), ("m2", "m0"), ("m0", "m2"), ("m1", "m0"), ("m2", "m1")]
    for seed in range(5):
        matches = schedule(_prompts(6), ["m0", "m1", "m2"], seed=seed)
        pairs = list(zip(matches["model_a"], matches["model_b"], strict=True))
        assert _rotation_of(pairs, cycle)
    # 12 prompts: two whole cycles -> each ordered pair twice, each debater 4 times per side.
    matches = schedule(_prompts(12), ["m0", "m1", "m2"], seed=0)
    assert matches.groupby(["model_a", "model_b"]).size().tolist() == [2] * 6
    assert matches["model_a"].value_counts().tolist() == [4] * 3
    assert matches["model_b"].value_counts().tolist() == [4] * 3


def test_schedule_of_two_debaters_alternates_sides():
    # Cycle (x, y), (y, x): consecutive debates swap sides, so 5 debates give 3 and 2 of one order.
    matches = schedule(_prompts(5), ["x", "y"], seed=1)
    pairs = list(zip(matches["model_a"], matches["model_b"], strict=True))
    assert all(pairs[k] == pairs[k + 1][::-1] for k in range(4))


def test_schedule_of_one_debater_debates_itself():
    matches = schedule(_prompts(3), ["solo"], seed=0)
    assert (matches["model_a"] == "solo").all() and (matches["model_b"] == "solo").all()


def test_schedule_is_reproducible_and_seeded():
    first, again = schedule(_prompts(20), ["x", "y"], seed=7), schedule(_prompts(20), ["x", "y"], seed=7)
    pd.testing.assert_frame_equal(first, again)
    other = schedule(_prompts(20), ["x", "y"], seed=8)
    assert not first[["answer_a", "answer_b"]].equals(other[["answer_a", "answer_b"]])
    # The correct side is drawn per question: over 20 both sides occur.
    assert set(first["correct"]) == {"a", "b"}


def test_schedule_rejects_repeated_models_or_prompts_and_non_numeric_references():
    with pytest.raises(ValueError, match="distinct"):
        schedule(_prompts(2), ["x", "x"], seed=0)
    with pytest.raises(ValueError, match="distinct"):
        schedule(_prompts(2), [], seed=0)
    with pytest.raises(ValueError, match="prompt_id must be unique"):
        schedule(pd.concat([_prompts(1), _prompts(1)]), ["x", "y"], seed=0)
    words = _prompts(1).assign(reference="Paris")
    with pytest.raises(ValueError, match=r"numeric reference.*candidates in the data"):
        schedule(words, ["x", "y"], seed=0)


def test_distractor_is_a_near_miss_never_the_reference():
    rng = np.random.default_rng(0)
    offsets = {int(distractor("17", rng)) - 17 for _ in range(200)}
    assert offsets == {-3, -2, -1, 1, 2, 3}
    # A non-negative reference keeps a non-negative candidate: 0 can only move up.
    assert {int(distractor("0", rng)) for _ in range(100)} == {1, 2, 3}
    assert {int(distractor("-5", rng)) + 5 for _ in range(200)} == {-3, -2, -1, 1, 2, 3}
    with pytest.raises(ValueError, match="needs its candidates in the data"):
        distractor("seventeen", rng)


# --- turns and speech prompts ------------------------------------------------------------------------------------


def test_turn_plans_of_both_formats():
    sequential = DebateConfig(rounds=2, format="sequential")
    assert turns(sequential) == [["a"], ["b"], ["a"], ["b"]]
    assert [round_of(sequential, t) for t in range(4)] == [0, 0, 1, 1]
    simultaneous = DebateConfig(rounds=3, format="simultaneous")
    assert turns(simultaneous) == [["a", "b"], ["a", "b"], ["a", "b"]]
    assert [round_of(simultaneous, t) for t in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match=r"turn must be an integer in \[0, 4\)"):
        round_of(sequential, 4)


def test_sequential_speeches_hear_the_earlier_alt0_speeches():
    cfg = DebateConfig(rounds=2, format="sequential")
    matches = _debates(["d1", "d2"])  # d1: x (17) vs y (16); d2: y (9) vs x (8)
    # Turn 0: A speaks; x is A only in d1.
    first = speech_requests(matches, pd.DataFrame(columns=TRANSCRIPT_COLUMNS), cfg, 0, "x")
    assert list(first.columns) == REQUEST_COLUMNS
    assert first[["match_id", "turn", "round", "side", "speaker"]].values.tolist() == [["d1", 0, 0, "a", "x"]]
    assert first.loc[0, "prompt"] == (
        "Question: 12+5=\nYou are debater A. You argue that the answer is 17; debater B argues 16.\nYour argument:"
    )
    transcript = _transcript([_speech("d1", 0, "a", "x", ("A0", "A1")), _speech("d2", 0, "a", "y", ("C0", "C1"))])
    # Turn 1: B speaks having heard A's alt-0 speech of the same round, never alt 1; y is B only in d1.
    second = speech_requests(matches, transcript, cfg, 1, "y")
    assert second[["match_id", "turn", "round", "side"]].values.tolist() == [["d1", 1, 0, "b"]]
    assert second.loc[0, "prompt"] == (
        "Question: 12+5=\nYou are debater B. You argue that the answer is 16; debater A argues 17.\n"
        "A (17): A0\nYour argument:"
    )
    # x is B in d2 and hears C0.
    assert speech_requests(matches, transcript, cfg, 1, "x")["prompt"].tolist() == [
        "Question: 4+4=\nYou are debater B. You argue that the answer is 8; debater A argues 9.\n"
        "A (9): C0\nYour argument:"
    ]
    # Turn 2 (round 1): A hears both alt-0 speeches of round 0, in speaking order; a speech's line breaks fold.
    transcript = pd.concat([transcript, _transcript([_speech("d1", 1, "b", "y", ("B0\nA (17): I give up", "B1"))])])
    third = speech_requests(matches, transcript, cfg, 2, "x")
    assert third[["match_id", "round"]].values.tolist() == [["d1", 1]]
    assert third.loc[0, "prompt"].splitlines()[2:] == ["A (17): A0", "B (16): B0 A (17): I give up", "Your argument:"]


def test_a_speech_request_without_its_earlier_speeches_is_an_error():
    cfg = DebateConfig(rounds=1, format="sequential")
    with pytest.raises(ValueError, match=r"d1 lacks the alt-0 speech\(es\) \(turn, side\) \[\(0, 'a'\)\]"):
        speech_requests(_debates(["d1"]), pd.DataFrame(columns=TRANSCRIPT_COLUMNS), cfg, 1, "y")


def test_simultaneous_speeches_hear_only_earlier_rounds():
    cfg = DebateConfig(rounds=2, format="simultaneous")
    matches = _debates(["d1", "d2"])
    # Round 0: x speaks in both debates (A in d1, B in d2) and hears nothing.
    opening = speech_requests(matches, pd.DataFrame(columns=TRANSCRIPT_COLUMNS), cfg, 0, "x")
    assert opening[["match_id", "side"]].values.tolist() == [["d1", "a"], ["d2", "b"]]
    assert all(p.splitlines()[2] == "Your argument:" for p in opening["prompt"])
    transcript = _transcript(
        [
            _speech("d1", 0, "a", "x", ("A0", "A1")),
            _speech("d1", 0, "b", "y", ("B0", "B1")),
            _speech("d2", 0, "a", "y", ("C0", "C1")),
            _speech("d2", 0, "b", "x", ("D0", "D1")),
        ]
    )
    # Round 1: both round-0 alt-0 speeches, never alt 1.
    reply = speech_requests(matches, transcript, cfg, 1, "y")
    assert reply[["match_id", "side", "round"]].values.tolist() == [["d1", "b", 1], ["d2", "a", 1]]
    assert [p.splitlines()[2:] for p in reply["prompt"]] == [
        ["A (17): A0", "B (16): B0", "Your argument:"],
        ["A (9): C0", "B (8): D0", "Your argument:"],
    ]


def test_a_debater_alone_gives_both_speeches_of_a_simultaneous_round():
    matches = _debates(["d1"]).assign(model_a="solo", model_b="solo")
    requests = speech_requests(matches, pd.DataFrame(), DebateConfig(format="simultaneous"), 0, "solo")
    assert requests[["side", "speaker"]].values.tolist() == [["a", "solo"], ["b", "solo"]]


def test_speeches_frame_writes_both_alternatives_of_each_request():
    cfg = DebateConfig(rounds=1, format="simultaneous")
    requests = speech_requests(_debates(["d1"]), pd.DataFrame(), cfg, 0, "x")
    frame = speeches_frame(requests, [["first", "second"]])
    assert list(frame.columns) == TRANSCRIPT_COLUMNS
    assert frame[["match_id", "turn", "round", "side", "speaker", "alt", "text"]].values.tolist() == [
        ["d1", 0, 0, "a", "x", 0, "first"],
        ["d1", 0, 0, "a", "x", 1, "second"],
    ]
    assert (frame["prompt"] == requests.loc[0, "prompt"]).all()
    assert frame[["turn", "round", "alt"]].dtypes.tolist() == [np.int64] * 3
    with pytest.raises(ValueError, match="exactly two texts"):
        speeches_frame(requests, [["only one"]])
    with pytest.raises(ValueError, match="1 speech requests"):
        speeches_frame(requests, [])


def test_transcripts_with_a_wrong_speaker_or_a_missing_alternative_are_rejected():
    cfg = DebateConfig(rounds=1)
    wrong = _transcript([_speech("d1", 0, "a", "y", ("A0", "A1"))])  # d1's side a is x
    with pytest.raises(ValueError, match="not the debater of its side"):
        speech_requests(_debates(["d1"]), wrong, cfg, 1, "y")
    single = _transcript([_speech("d1", 0, "a", "x", ("A0", "A1"))[:1]])
    with pytest.raises(ValueError, match="lack one of alt 0 and alt 1"):
        judge_inputs(_debates(["d1"]), single)


# --- judge inputs ------------------------------------------------------------------------------------------------

# Sequential, one round: d1 x (17) vs y (16), d2 y (9) vs x (8).
SEQUENTIAL = [
    _speech("d1", 0, "a", "x", ("A0", "A1")),
    _speech("d1", 1, "b", "y", ("B0", "B1")),
    _speech("d2", 0, "a", "y", ("same", "same")),
    _speech("d2", 1, "b", "x", ("P", "Q")),
]


def test_judge_inputs_hold_every_full_debate_and_every_branch():
    matches = _debates(["d1", "d2"])
    duels = judge_inputs(matches, _transcript(SEQUENTIAL))
    assert list(duels.columns) == DUEL_COLUMNS
    # 2 debates + 2 alternatives x 4 speeches = 10 rows; full debates first.
    assert duels["match_id"].tolist() == [
        "d1",
        "d2",
        "d1/t0/a/alt0",
        "d1/t0/a/alt1",
        "d1/t1/b/alt0",
        "d1/t1/b/alt1",
        "d2/t0/a/alt0",
        "d2/t0/a/alt1",
        "d2/t1/b/alt0",
        "d2/t1/b/alt1",
    ]
    prompts = dict(zip(duels["match_id"], duels["prompt"], strict=True))
    head = "Debate. A argues the answer is 17; B argues it is 16.\n"
    assert prompts["d1"] == head + "A (17): A0\nB (16): B0\n12+5="
    # A branch: the earlier speeches' alt 0, then this speech's own alternative.
    assert prompts["d1/t0/a/alt1"] == head + "A (17): A1\n12+5="
    assert prompts["d1/t1/b/alt1"] == head + "A (17): A0\nB (16): B1\n12+5="
    assert prompts["d2/t1/b/alt0"] == "Debate. A argues the answer is 9; B argues it is 8.\nA (9): same\nB (8): P\n4+4="
    d1 = duels[duels["match_id"].str.startswith("d1")]
    assert set(zip(d1["answer_a"], d1["answer_b"], d1["reference"], d1["model_a"], d1["model_b"], strict=True)) == {
        ("17", "16", "17", "x", "y")
    }
    # The judge never learns which side is correct: flipping `correct` changes no prompt.
    flipped = judge_inputs(matches.assign(correct=["b", "a"]), _transcript(SEQUENTIAL))
    assert flipped["prompt"].tolist() == duels["prompt"].tolist()


def test_simultaneous_branches_leave_out_the_same_rounds_other_speech():
    transcript = _transcript(
        [
            _speech("d1", 0, "a", "x", ("A0", "A1")),
            _speech("d1", 0, "b", "y", ("B0", "B1")),
            _speech("d1", 1, "a", "x", ("A2", "A3"), rnd=1),
            _speech("d1", 1, "b", "y", ("B2", "B3"), rnd=1),
        ]
    )
    prompts = dict(judge_inputs(_debates(["d1"]), transcript)[["match_id", "prompt"]].values)
    assert len(prompts) == 1 + 8
    assert prompts["d1"].splitlines()[1:5] == ["A (17): A0", "B (16): B0", "A (17): A2", "B (16): B2"]
    # Branch of B's round-1 alt 1: round 0 (alt 0) and then that speech; A's round-1 speech is not heard.
    assert prompts["d1/t1/b/alt1"].splitlines()[1:4] == ["A (17): A0", "B (16): B0", "B (16): B3"]
    assert prompts["d1/t0/b/alt0"].splitlines()[1:2] == ["B (16): B0"]


# --- outcomes ----------------------------------------------------------------------------------------------------

# Full-debate judgments (P(A) = (1 + d) / 2):
# d1 (correct a; x=a, y=b): j ab +0.6, ba +0.2 -> j 0.4; z ab -0.2, z's invalid ba (+1.0) is dropped -> z -0.2;
#     d = (0.4 - 0.2) / 2 = 0.1 -> P(A) = 0.55 -> right; x wins arguing the truth.
# d2 (correct b; y=a, x=b): j ab -0.5, ba -0.5 -> d = -0.5 -> P(A) = 0.25, P(correct) = 0.75 -> right; x wins.
# d3 (correct a; x=a, y=b): j ab +0.5, ba -0.5 -> 0; x's own +1 on its debate is left out -> d = 0: a tie,
#     P(correct) = 0.5, counted wrong; nobody wins.
# d4 (correct a): only an invalid row -> unjudged.
# d5 (correct a; y=a, x=b): j ab -1 -> P(A) = 0 -> wrong; x wins arguing the wrong answer.
# A branch row (d1/t0/a/alt0) must not count.
# judged 4, ties 1, accuracy 2/4; mean P(correct) = (0.55 + 0.75 + 0.5 + 0) / 4 = 0.45.
# Correct side a: judged d1, d3, d5 -> 1 right of 3; correct side b: d2 -> 1 of 1.
# x: sides judged d1(a), d2(b), d3(a), d5(b) = 4, won d1, d2, d5 -> 0.75; as a 1/2, as b 2/2;
#    arguing the truth d1, d2, d3 -> 2/3; arguing the wrong answer d5 -> 1/1.
# y: judged 4, won 0; as a d2, d5 -> 0/2; as b d1, d3 -> 0/2; truth d5 -> 0/1; wrong d1, d2, d3 -> 0/3.
OUTCOME_JUDGMENTS = [
    _judgment("d1", "j", "ab", 0.6),
    _judgment("d1", "j", "ba", 0.2),
    _judgment("d1", "z", "ab", -0.2),
    _judgment("d1", "z", "ba", 1.0, valid=False),
    _judgment("d1/t0/a/alt0", "j", "ab", -1.0),
    _judgment("d2", "j", "ab", -0.5),
    _judgment("d2", "j", "ba", -0.5),
    _judgment("d3", "j", "ab", 0.5),
    _judgment("d3", "j", "ba", -0.5),
    _judgment("d3", "x", "ab", 1.0),
    _judgment("d4", "j", "ab", None, valid=False),
    _judgment("d5", "j", "ab", -1.0),
]


def test_outcomes_say_whether_the_truth_wins():
    result = outcomes(_debates(["d1", "d2", "d3", "d4", "d5"]), _judgments(OUTCOME_JUDGMENTS))
    assert result == {
        "protocol": "debate",
        "debates": 5,
        "judged": 4,
        "ties": 1,
        "judge_accuracy": 0.5,
        "mean_p_correct": pytest.approx(0.45),
        "judge_accuracy_when_correct_is": {"a": pytest.approx(1 / 3), "b": 1.0},
        "debaters": {
            "x": {
                "judged": 4,
                "win_rate": 0.75,
                "judged_as_a": 2,
                "win_rate_as_a": 0.5,
                "judged_as_b": 2,
                "win_rate_as_b": 1.0,
                "judged_correct": 3,
                "win_rate_correct": pytest.approx(2 / 3),
                "judged_wrong": 1,
                "win_rate_wrong": 1.0,
            },
            "y": {
                "judged": 4,
                "win_rate": 0.0,
                "judged_as_a": 2,
                "win_rate_as_a": 0.0,
                "judged_as_b": 2,
                "win_rate_as_b": 0.0,
                "judged_correct": 1,
                "win_rate_correct": 0.0,
                "judged_wrong": 3,
                "win_rate_wrong": 0.0,
            },
        },
    }


def test_outcomes_without_verdicts_are_none_not_nan():
    result = outcomes(_debates(["d4"]), _judgments([_judgment("d4", "j", "ab", None, valid=False)]))
    assert result["judged"] == 0 and result["judge_accuracy"] is None and result["mean_p_correct"] is None
    assert result["debaters"]["y"]["win_rate"] is None


def test_debate_verdicts_rate_the_debaters_of_the_full_debates():
    verdicts = debate_verdicts(_debates(["d1", "d2"]), _judgments(OUTCOME_JUDGMENTS[:7]))
    # d1: 0.1 (x, side a, won), d2: -0.5 (x, side b, won); the branch row is ignored.
    assert verdicts["match_id"].tolist() == ["d1", "d2"]
    assert verdicts["d"].tolist() == pytest.approx([0.1, -0.5])
    assert verdicts["n_judges"].tolist() == [2, 1]


# --- branch pairs ------------------------------------------------------------------------------------------------

# Favour = P(speaker's side) on the speech's branch: P(A) for side a, 1 - P(A) for side b.
# d1/t0/a (x): alt0 j +0.2 -> 0.6 (y, a debater, says -1: left out); alt1 j +0.6/+0.2 -> 0.4 -> 0.7.
#     alt 1 chosen ("A1" over "A0"), gain 0.1.
# d1/t1/b (y): alt0 j -0.8 -> P(A) 0.1 -> favour 0.9; alt1 j 0 -> 0.5. alt 0 chosen ("B0" over "B1"), gain 0.4
#     (by P(A) alone alt 1 would win).
# d2/t0/a: identical texts ("same") -> no pair, even with a gain of 0.2.
# d2/t1/b: both +0.2 -> a tie.
# d3/t0/a: no judgments; d3/t1/b: alt 1 only invalid -> both unjudged.
# A full-debate judgment (d1) is ignored.
PAIR_SPEECHES = [
    *SEQUENTIAL,
    _speech("d3", 0, "a", "x", ("C0", "C1")),
    _speech("d3", 1, "b", "y", ("D0", "D1")),
]
PAIR_JUDGMENTS = [
    _judgment("d1", "j", "ab", -1.0),
    _judgment("d1/t0/a/alt0", "j", "ab", 0.2),
    _judgment("d1/t0/a/alt0", "y", "ab", -1.0),
    _judgment("d1/t0/a/alt1", "j", "ab", 0.6),
    _judgment("d1/t0/a/alt1", "j", "ba", 0.2),
    _judgment("d1/t1/b/alt0", "j", "ab", -0.8),
    _judgment("d1/t1/b/alt1", "j", "ab", 0.0),
    _judgment("d2/t0/a/alt0", "j", "ab", 0.0),
    _judgment("d2/t0/a/alt1", "j", "ab", 0.4),
    _judgment("d2/t1/b/alt0", "j", "ab", 0.2),
    _judgment("d2/t1/b/alt1", "j", "ab", 0.2),
    _judgment("d3/t1/b/alt0", "j", "ab", 0.0),
    _judgment("d3/t1/b/alt1", "j", "ab", None, valid=False),
]


def _pairs(margin: float) -> pd.DataFrame:
    cfg = DebateConfig(rounds=1, margin=margin)
    return branch_pairs(_debates(["d1", "d2", "d3"]), _transcript(PAIR_SPEECHES), _judgments(PAIR_JUDGMENTS), cfg)


def test_branch_pairs_choose_the_alternative_that_favoured_the_speaker(tmp_path):
    pairs = _pairs(0.0)
    assert list(pairs.columns) == [*PAIRS.columns, "chosen_favour", "rejected_favour"]
    assert pairs[
        ["prompt_id", "prompt", "chosen", "rejected", "match_id", "chosen_model", "rejected_model"]
    ].values.tolist() == [
        ["p-d1", "prompt d1/t0/a", "A1", "A0", "d1/t0/a", "x", "x"],
        ["p-d1", "prompt d1/t1/b", "B0", "B1", "d1/t1/b", "y", "y"],
    ]
    assert pairs["margin"].tolist() == pytest.approx([0.1, 0.4])
    assert pairs["chosen_favour"].tolist() == pytest.approx([0.7, 0.9])
    assert pairs["rejected_favour"].tolist() == pytest.approx([0.6, 0.5])
    write_table(pairs, tmp_path / "pairs.parquet", PAIRS)
    pd.testing.assert_frame_equal(read_table(tmp_path / "pairs.parquet", PAIRS), pairs)


def test_branch_pairs_keep_a_gain_of_at_least_the_margin():
    # 0.7 - 0.6 is 0.0999...: a gain equal to the margin is kept, a smaller one is not.
    assert _pairs(0.1)["match_id"].tolist() == ["d1/t0/a", "d1/t1/b"]
    assert _pairs(0.2)["match_id"].tolist() == ["d1/t1/b"]
    assert _pairs(0.5).empty


def test_speech_candidates_say_why_a_speech_gave_no_pair_and_pair_stats_count_them():
    cfg = DebateConfig(rounds=1, margin=0.2)
    candidates = speech_candidates(
        _debates(["d1", "d2", "d3"]), _transcript(PAIR_SPEECHES), _judgments(PAIR_JUDGMENTS), cfg
    )
    assert list(candidates.columns) == CANDIDATE_COLUMNS
    assert candidates[["match_id", "turn", "side", "speaker", "dropped"]].values.tolist() == [
        ["d1", 0, "a", "x", "below_margin"],
        ["d1", 1, "b", "y", ""],
        ["d2", 0, "a", "y", "identical"],
        ["d2", 1, "b", "x", "tie"],
        ["d3", 0, "a", "x", "unjudged"],
        ["d3", 1, "b", "y", "unjudged"],
    ]
    stats = pair_stats(candidates)
    assert (stats["candidates"], stats["pairs"], stats["pairs_by_chosen_model"]) == (6, 1, {"y": 1})
    assert stats["dropped"] == {"unjudged": 2, "identical": 1, "tie": 1, "below_margin": 1}
    assert stats["mean_margin"] == pytest.approx(0.4)
    assert stats["extras"] == {"mean_chosen_favour": pytest.approx(0.9), "mean_rejected_favour": pytest.approx(0.5)}
    # Margin 0: both d1 speeches pair; mean gain (0.1 + 0.4) / 2 = 0.25.
    stats = pair_stats(
        speech_candidates(
            _debates(["d1", "d2", "d3"]), _transcript(PAIR_SPEECHES), _judgments(PAIR_JUDGMENTS), DebateConfig(rounds=1)
        )
    )
    assert stats["pairs_by_chosen_model"] == {"x": 1, "y": 1}
    assert stats["mean_margin"] == pytest.approx(0.25)


def test_branch_pairs_reject_judgments_of_unknown_branches():
    judgments = _judgments([*PAIR_JUDGMENTS, _judgment("d1/t9/a/alt0", "j", "ab", 0.0)])
    with pytest.raises(ValueError, match=r"unknown debate\(s\) or branch\(es\), e.g. \['d1/t9/a/alt0'\]"):
        branch_pairs(_debates(["d1", "d2", "d3"]), _transcript(PAIR_SPEECHES), judgments, DebateConfig(rounds=1))


def test_a_background_passage_opens_every_speech_prompt_and_the_judge_view_only_when_asked():
    prompts = _prompts(2).assign(background=["The ledger says 7.", None])
    matches = schedule(prompts, ["x", "y"], seed=0)
    assert matches["background"].tolist() == ["The ledger says 7.", ""]
    cfg = DebateConfig(rounds=1, format="sequential")
    requests = pd.concat(
        [speech_requests(matches, pd.DataFrame(columns=TRANSCRIPT_COLUMNS), cfg, 0, m) for m in ("x", "y")]
    ).set_index("match_id")
    # the first debate's passage comes first; the second debate has none, so its prompt starts with the question
    assert requests.loc["debate-p0", "prompt"].startswith("Background: The ledger says 7.\nQuestion: ")
    assert requests.loc["debate-p1", "prompt"].startswith("Question: ")
    # by default the judge decides from the debaters' words alone
    hidden = judge_inputs(matches, pd.DataFrame(columns=TRANSCRIPT_COLUMNS)).set_index("match_id")
    assert hidden.loc["debate-p0", "prompt"].startswith("Debate. A argues")
    assert "ledger" not in hidden.loc["debate-p0", "prompt"]
    views = judge_inputs(matches, pd.DataFrame(columns=TRANSCRIPT_COLUMNS), judge_reads_background=True)
    views = views.set_index("match_id")
    assert views.loc["debate-p0", "prompt"].startswith("Background: The ledger says 7.\nDebate. A argues")
    assert views.loc["debate-p1", "prompt"].startswith("Debate. A argues")
