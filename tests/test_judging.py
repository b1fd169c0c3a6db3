import math

import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from agon.contracts import GENERATIONS, JUDGMENTS, MATCHES, PROMPTS, read_table, write_table
from agon.generation import Completion, SamplingConfig, make_generator
from agon.judging import DUEL_COLUMNS, JudgeConfig, duels_frame, judge_matches, make_judge
from agon.judging.logprob import choice_token_ids
from agon.judging.peer import ScoreJudge, VerdictError, parse_scores, score_verdict
from agon.judging.protocol import in_order
from agon.models import ModelSpec

from .testing_utils import generations_table, matches_table

GARBAGE = "zz qq zz"


def duels(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Duels from (prompt, reference, answer_a, answer_b), match ids d0, d1, ... between models a and b."""
    return pd.DataFrame(
        [
            dict(zip(DUEL_COLUMNS, (f"d{i}", prompt, reference, "a", "b", answer_a, answer_b), strict=True))
            for i, (prompt, reference, answer_a, answer_b) in enumerate(rows)
        ],
        columns=DUEL_COLUMNS,
    )


@pytest.fixture(scope="module")
def spec(tiny_member) -> ModelSpec:
    torch.set_num_threads(1)
    return ModelSpec(name="m1", base=str(tiny_member))


@pytest.fixture(scope="module")
def heldout(micro_splits) -> pd.DataFrame:
    return read_table(micro_splits["heldout"], PROMPTS).head(4)


@pytest.fixture(scope="module")
def greedy_answers(spec, heldout) -> list[str]:
    """What the judge itself answers, greedily: the answers it should find most likely."""
    generator = make_generator("hf", spec, "cpu")
    completions = generator.generate(heldout["prompt"].tolist(), SamplingConfig(max_new_tokens=8, temperature=0.0), 0)
    return [c.text for [c] in completions]


@pytest.fixture(scope="module")
def likelihood_judge(spec):
    return make_judge(JudgeConfig("peer"), "m1", evaluator="integer", spec=spec, device="cpu")


# --- the role's pure parts ------------------------------------------------------------------------------------


def test_in_order_shows_swapped_and_maps_back():
    assert in_order("ab", "x", "y") == ("x", "y")
    assert in_order("ba", "x", "y") == ("y", "x")
    # swapping twice is the identity: the same function maps shown scores back to the match's A/B
    assert in_order("ba", *in_order("ba", 1.0, 2.0)) == (1.0, 2.0)
    with pytest.raises(ValueError, match="unknown order 'xy'"):
        in_order("xy", 1, 2)


def test_judge_config_reads_the_judging_section():
    section = {"judges": ["peer"], "signal": "peer", "peer_mode": "score", "batch_size": 8, "max_new_tokens": 12}
    assert JudgeConfig.from_dict({**section, "method": "peer"}) == JudgeConfig("peer", "score", 8, 12)
    assert JudgeConfig.from_dict({"method": "verifier"}) == JudgeConfig("verifier", "likelihood", 64, 16)
    with pytest.raises(ValueError, match="peer mode 'vote'"):
        JudgeConfig("peer", mode="vote")


def test_unknown_method_and_missing_model_are_config_errors():
    with pytest.raises(ValueError, match=r"'judging.judges': unknown judge method 'vote'.*verifier.*peer.*logprob"):
        make_judge(JudgeConfig("vote"), "j", evaluator="integer", spec=None, device="cpu")
    with pytest.raises(ValueError, match=r"judge j uses method 'peer', which needs a model"):
        make_judge(JudgeConfig("peer"), "j", evaluator="integer", spec=None, device="cpu")


# --- duels from matches and generations -----------------------------------------------------------------------


def test_duels_join_both_duellists_sample_zero_answers(heldout):
    pid = heldout["prompt_id"].iat[0]
    gens = pd.concat([generations_table("x", {pid: "12"}), generations_table("y", {pid: "13"})])
    [duel] = duels_frame(matches_table([(pid, "y", "x")], heldout), gens).to_dict("records")
    assert list(duel) == DUEL_COLUMNS
    assert (duel["model_a"], duel["answer_a"], duel["model_b"], duel["answer_b"]) == ("y", "13", "x", "12")


def test_selfplay_comparisons_join_the_samples_they_name(heldout):
    pid = heldout["prompt_id"].iat[0]
    compared = matches_table([(pid, "x", "x")], heldout).assign(sample_a=1, sample_b=0)
    [duel] = duels_frame(compared, generations_table("x", {pid: "12"})).to_dict("records")
    # sample 1 is the decoy, sample 0 the answer: both answers of the one model, as the comparison names them
    assert (duel["model_a"], duel["answer_a"], duel["model_b"], duel["answer_b"]) == ("x", "decoy", "x", "12")
    with pytest.raises(ValueError, match=rf"no answer of model x to prompt {pid}"):
        duels_frame(compared.assign(sample_a=5), generations_table("x", {pid: "12"}))


def test_a_missing_answer_names_the_model_and_prompt(heldout):
    pid = heldout["prompt_id"].iat[0]
    with pytest.raises(ValueError, match=rf"no answer of model y to prompt {pid}"):
        duels_frame(matches_table([(pid, "x", "y")], heldout), generations_table("x", {pid: "12"}))


# --- verifier -------------------------------------------------------------------------------------------------


def test_verifier_scores_right_one_wrong_zero_and_prefers_the_right_answer():
    judged = make_judge(JudgeConfig("verifier"), "verifier", evaluator="integer", spec=None, device="cpu").judge(
        duels(
            [
                ("What is 2+3?", "5", "5", "6"),  # A right
                ("What is 2+3?", "5", " 6", "5 "),  # B right (checker forgives spaces)
                ("What is 2+3?", "5", "5", "05"),  # both right: a tie
                ("What is 2+3?", "5", "7", GARBAGE),  # both wrong: a tie
            ]
        )
    )
    assert judged["score_a"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert judged["score_b"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert judged["preference"].tolist() == [1.0, -1.0, 0.0, 0.0]
    assert judged["raw"].iat[0] == "A: correct B: wrong"
    assert set(judged["order"]) == {"ab"} and judged["valid"].all() and set(judged["error"]) == {""}


# --- score mode: parsing and mapping back, without a model ----------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "scores"),
    [("A: 7 B: 3", (7, 3)), ("A:7,B:3", (7, 3)), ("  A: 10  B: 1.", (10, 1)), ("Scores: A: 1; B: 10", (1, 10))],
)
def test_parse_scores_reads_a_verdict(reply, scores):
    assert parse_scores(reply) == scores


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("", "no verdict"),
        ("A: 11 B: 3", "outside 1..10"),
        ("A: 0 B: 3", "outside 1..10"),
        ("A: -2 B: 3", "outside 1..10"),
        ("B: 3 A: 7", "no verdict"),
        ("A is better", "no verdict"),
        ("A: 7.5 B: 3", "no verdict"),
        ("A: 7 B: 3, no wait, A: 2 B: 9", "conflicting verdicts"),
    ],
)
def test_parse_scores_rejects_garbage_with_a_reason(reply, why):
    with pytest.raises(VerdictError, match=why):
        parse_scores(reply)


@given(
    a=st.integers(1, 10),
    b=st.integers(1, 10),
    space=st.sampled_from(["", " ", "  "]),
    sep=st.sampled_from([" ", ",", ", ", ";", "\n"]),
    tail=st.sampled_from(["", ".", " because A is right", "\n"]),
)
def test_parse_scores_reads_any_spacing_of_an_in_range_verdict(a, b, space, sep, tail):
    assert parse_scores(f"A:{space}{a}{sep}B:{space}{b}{tail}") == (a, b)


@given(a=st.integers(-1000, 1000), b=st.integers(-1000, 1000))
def test_parse_scores_rejects_any_score_outside_one_to_ten(a, b):
    if 1 <= a <= 10 and 1 <= b <= 10:
        assert parse_scores(f"A: {a} B: {b}") == (a, b)
    else:
        with pytest.raises(VerdictError, match=r"outside 1\.\.10"):
            parse_scores(f"A: {a} B: {b}")


@given(reply=st.text(), order=st.sampled_from(["ab", "ba"]))
def test_a_reply_becomes_a_verdict_never_an_exception_nor_a_default(reply, order):
    verdict = score_verdict("m", order, reply)
    assert verdict.raw == reply and verdict.order == order
    if verdict.error:
        assert (verdict.score_a, verdict.score_b, verdict.preference) == (None, None, None)
    else:
        assert 1 <= verdict.score_a <= 10 and 1 <= verdict.score_b <= 10
        assert -1 <= verdict.preference <= 1


def test_a_swapped_verdict_maps_back_to_the_match_a_and_b():
    # shown B first: "A: 9" scores the match's B, "B: 2" its A
    verdict = score_verdict("m", "ba", "A: 9 B: 2")
    assert (verdict.score_a, verdict.score_b) == (2.0, 9.0)
    assert verdict.preference == pytest.approx(-7 / 9)
    assert score_verdict("m", "ab", "A: 9 B: 2").preference == pytest.approx(7 / 9)


class StubGenerator:
    """Replies with ``reply(prompt)``: a judge with a known opinion, to test the mapping end to end."""

    backend = "stub"

    def __init__(self, reply) -> None:
        self.reply = reply

    def generate(self, prompts: list[str], sampling: SamplingConfig, seed: int) -> list[list[Completion]]:
        assert sampling.greedy
        return [[Completion(self.reply(p), 4, "stop")] for p in prompts]


def test_a_position_biased_judge_cancels_out_over_both_orders():
    judged = ScoreJudge("j", StubGenerator(lambda prompt: "A: 9 B: 2"), JudgeConfig("peer", "score")).judge(
        duels([("What is 1+1?", "2", "2", "3")])
    )
    assert judged["order"].tolist() == ["ab", "ba"]
    assert judged["preference"].tolist() == pytest.approx([7 / 9, -7 / 9])
    assert judged["preference"].mean() == pytest.approx(0.0)


def test_a_consistent_judge_gives_the_same_mapped_scores_in_both_orders():
    def reply(prompt: str) -> str:
        # rates the answer "2" 8 and anything else 3, wherever it is shown
        first, second = (line.split(": ", 1)[1] for line in prompt.splitlines() if line.startswith("Answer "))
        return f"A: {8 if first == '2' else 3} B: {8 if second == '2' else 3}"

    judged = ScoreJudge("j", StubGenerator(reply), JudgeConfig("peer", "score")).judge(
        duels([("What is 1+1?", "2", "3", "2"), ("What is 1+1?", "2", "2", GARBAGE)])
    )
    assert judged["score_a"].tolist() == [3.0, 3.0, 8.0, 8.0]
    assert judged["score_b"].tolist() == [8.0, 8.0, 3.0, 3.0]
    assert judged["preference"].tolist() == pytest.approx([-5 / 9, -5 / 9, 5 / 9, 5 / 9])


def test_an_unparsable_reply_is_invalid_with_its_raw_text_kept():
    judged = ScoreJudge("j", StubGenerator(lambda prompt: "I think A"), JudgeConfig("peer", "score")).judge(
        duels([("What is 1+1?", "2", "2", "3")])
    )
    assert not judged["valid"].any()
    assert judged[["score_a", "score_b", "preference"]].isna().all().all()
    assert set(judged["raw"]) == {"I think A"} and judged["error"].str.contains("no verdict").all()


# --- peer judges on the tiny model ----------------------------------------------------------------------------


def test_the_judge_prefers_its_own_greedy_answer_to_garbage(likelihood_judge, heldout, greedy_answers):
    judged = likelihood_judge.judge(
        duels([(p, r, g, GARBAGE) for p, r, g in zip(heldout.prompt, heldout.reference, greedy_answers, strict=True)])
    )
    assert (judged["score_a"] > judged["score_b"]).all()
    assert (judged["preference"] > 0).all() and (judged["preference"] < 1).all()
    assert (judged["score_a"] <= 0).all() and (judged["score_b"] <= 0).all()  # mean log-probabilities
    assert set(judged["order"]) == {"ab"} and judged["valid"].all()


def test_swapping_the_answers_negates_the_likelihood_preference(likelihood_judge, heldout, greedy_answers):
    rows = list(zip(heldout.prompt, heldout.reference, greedy_answers, heldout.reference, strict=True))
    forward = likelihood_judge.judge(duels(rows))
    swapped = likelihood_judge.judge(duels([(p, r, b, a) for p, r, a, b in rows]))
    assert swapped["preference"].tolist() == pytest.approx((-forward["preference"]).tolist(), abs=1e-6)
    # tanh of half the gap: the sign of the gap, bounded by 1
    expected = [math.tanh((a - b) / 2) for a, b in zip(forward.score_a, forward.score_b, strict=True)]
    assert forward["preference"].tolist() == pytest.approx(expected)


def test_batched_likelihoods_equal_one_at_a_time(likelihood_judge, heldout, greedy_answers):
    # answers of different lengths in one batch: padding must not change any score
    prompts = heldout["prompt"].tolist() * 2
    answers = [*greedy_answers, "1", GARBAGE, "", "123456"]
    likelihood_judge.batch_size = 8
    batched = likelihood_judge.answer_logprobs(prompts, answers)
    likelihood_judge.batch_size = 1
    alone = likelihood_judge.answer_logprobs(prompts, answers)
    assert [n for _, n in batched] == [n for _, n in alone]
    assert [s for s, _ in batched] == pytest.approx([s for s, _ in alone], abs=1e-5)
    assert alone[6][1] == 1  # the empty answer: only stopping is scored


def test_score_mode_on_the_tiny_model_records_every_verdict(spec, heldout, greedy_answers):
    judge = make_judge(JudgeConfig("peer", "score", batch_size=8), "m1", evaluator="integer", spec=spec, device="cpu")
    judged = judge.judge(
        duels(list(zip(heldout.prompt, heldout.reference, greedy_answers, heldout.reference, strict=True)))
    )
    assert len(judged) == 2 * len(heldout) and judged["order"].tolist() == ["ab", "ba"] * len(heldout)
    invalid = judged[~judged["valid"]]
    assert invalid[["score_a", "score_b", "preference"]].isna().all().all() and (invalid["error"] != "").all()
    assert judged.loc[judged["valid"], "preference"].between(-1, 1).all()


# --- logprob --------------------------------------------------------------------------------------------------


def test_logprob_judge_compares_p_a_and_p_b_in_both_orders(spec, heldout, greedy_answers):
    judge = make_judge(JudgeConfig("logprob", batch_size=3), "m1", evaluator="integer", spec=spec, device="cpu")
    judged = judge.judge(
        duels(list(zip(heldout.prompt, heldout.reference, greedy_answers, heldout.reference, strict=True)))
    )
    assert judged["order"].tolist() == ["ab", "ba"] * len(heldout)
    assert judged["valid"].all()
    assert (judged["score_a"] + judged["score_b"]).tolist() == pytest.approx([1.0] * len(judged))
    assert judged["preference"].between(-1, 1).all()
    assert judged["preference"].tolist() == pytest.approx((judged["score_a"] - judged["score_b"]).tolist())


class SplittingTokenizer:
    """A tokenizer that spells every letter as two tokens, like some SentencePiece vocabularies without a bare "A"."""

    name_or_path = "some/base"

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": [7, ord(text[0])]}


def test_logprob_judge_needs_single_token_choices(spec):
    from agon.models import load_tokenizer

    assert len(set(choice_token_ids(load_tokenizer(spec), "m1"))) == 2
    with pytest.raises(ValueError, match=r"judge m1 \(some/base\).*single tokens.*'A': \[7, 65\]"):
        choice_token_ids(SplittingTokenizer(), "m1")


# --- the stage ------------------------------------------------------------------------------------------------


@pytest.fixture()
def stage_inputs(tmp_path, heldout, greedy_answers):
    """Three members' generations and a round robin of matches: m1 fights in two of the three duels."""
    pids = heldout["prompt_id"].tolist()[:2]
    paths = []
    for model in ("m1", "m2", "m3"):
        paths.append(tmp_path / f"{model}.parquet")
        answers = dict(zip(pids, greedy_answers if model == "m1" else heldout["reference"], strict=False))
        write_table(generations_table(model, answers), paths[-1], GENERATIONS)
    pairs = [(pid, a, b) for pid in pids for a, b in [("m1", "m2"), ("m2", "m3"), ("m3", "m1")]]
    write_table(matches_table(pairs, heldout), tmp_path / "matches.parquet", MATCHES)
    return tmp_path / "matches.parquet", paths


def test_a_member_never_judges_its_own_duels(stage_inputs, tmp_path, tiny_member):
    matches_path, generation_paths = stage_inputs
    out = tmp_path / "judgments" / "m1.parquet"
    judge_matches(
        matches_path,
        generation_paths,
        out,
        JudgeConfig("peer"),
        judge_name="m1",
        evaluator="integer",
        spec_dict={"name": "m1", "base": str(tiny_member)},
        device="cpu",
    )
    judged = read_table(out, JUDGMENTS)  # validates against the contract
    assert list(judged.columns) == JUDGMENTS.columns
    assert len(judged) == 2 and judged["match_id"].str.startswith("m2-m3-").all()  # one duel per prompt
    assert set(judged["judge"]) == {"m1"} and set(judged["method"]) == {"peer"}


def test_the_verifier_judges_every_duel_and_writes_valid_judgments(stage_inputs, tmp_path):
    matches_path, generation_paths = stage_inputs
    out = tmp_path / "verifier.parquet"
    judge_matches(
        matches_path,
        generation_paths,
        out,
        JudgeConfig("verifier"),
        judge_name="verifier",
        evaluator="integer",
        spec_dict=None,
        device="cpu",
    )
    judged = read_table(out, JUDGMENTS)
    assert len(judged) == 6 and judged["valid"].all()
    # m2 and m3 answer with the references: their duel is a tie of two right answers
    assert judged.loc[judged["match_id"].str.startswith("m2-m3"), "preference"].tolist() == [0.0, 0.0]


def test_a_judge_in_every_duel_writes_an_empty_valid_table(tmp_path, heldout, tiny_member):
    pid = heldout["prompt_id"].iat[0]
    paths = [tmp_path / "m1.parquet", tmp_path / "m2.parquet"]
    write_table(generations_table("m1", {pid: "1"}), paths[0], GENERATIONS)
    write_table(generations_table("m2", {pid: "2"}), paths[1], GENERATIONS)
    write_table(matches_table([(pid, "m1", "m2")], heldout), tmp_path / "matches.parquet", MATCHES)
    judge_matches(
        tmp_path / "matches.parquet",
        paths,
        tmp_path / "out.parquet",
        JudgeConfig("logprob"),
        judge_name="m1",
        evaluator="integer",
        spec_dict={"name": "m1", "base": str(tiny_member)},
        device="cpu",
    )
    assert read_table(tmp_path / "out.parquet", JUDGMENTS).empty
