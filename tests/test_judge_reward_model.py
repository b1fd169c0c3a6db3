"""The reward_model and pairwise judges, on tiny sequence classifiers built offline.

Every expected score is computed independently: the classifier's score head applied to its own hidden states at
the last token of the exact text, run alone, so no padding, batching or pooling of the judge's is involved.
"""

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from agon.contracts import JUDGMENTS, read_table, write_table
from agon.judging.pairwise import build_pairwise_judge
from agon.judging.reward_model import build_reward_model_judge

from .testing_utils import CLASSIFIER_ANSWERS as ANSWERS
from .testing_utils import CLASSIFIER_PROMPTS as PROMPTS
from .testing_utils import Classifier, duels, save_classifier

DUELS = duels(
    [
        (PROMPTS[0], ANSWERS[0], ANSWERS[1]),
        (PROMPTS[0], ANSWERS[2], ANSWERS[0]),
        (PROMPTS[1], ANSWERS[3], ANSWERS[4]),
        (PROMPTS[2], ANSWERS[5], ANSWERS[2]),
        (PROMPTS[2], ANSWERS[0], ANSWERS[5]),
    ]
)


@torch.inference_mode()
def last_token_score(classifier: Classifier, text: str, *, add_special_tokens: bool = True, limit: int = 512) -> float:
    ids = classifier.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"][:limit]
    hidden = classifier.model.model(input_ids=torch.tensor([ids])).last_hidden_state
    return classifier.model.score(hidden)[0, -1, 0].item()


def chat_text(prompt: str, answer: str) -> str:
    """The tiny tokenizer's chat template, written out by hand."""
    return f"<|user|>{prompt}<|end|><|assistant|>{answer}<|end|>"


def pair_text(prompt: str, first: str, second: str) -> str:
    return f"Question: {prompt}\nAnswer A: {first}\nAnswer B: {second}"


def round_trip(judgments: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """The judgments as a later stage reads them: written and read back under the judgments contract."""
    write_table(judgments, tmp_path / "judgments.parquet", JUDGMENTS)
    return read_table(tmp_path / "judgments.parquet", JUDGMENTS)


def count_sequences(model: torch.nn.Module) -> list[int]:
    """Record the number of sequences in each forward pass of ``model``."""
    seen: list[int] = []
    model.register_forward_pre_hook(lambda _, args, kwargs: seen.append(kwargs["input_ids"].shape[0]), with_kwargs=True)
    return seen


@pytest.fixture(scope="module")
def chat_rm(tmp_path_factory) -> Classifier:
    return save_classifier(tmp_path_factory.mktemp("chat_rm"), chat=True)


@pytest.fixture(scope="module")
def plain_rm(tmp_path_factory) -> Classifier:
    return save_classifier(tmp_path_factory.mktemp("plain_rm"), chat=False, seed=1)


@pytest.fixture(scope="module")
def pair_model(tmp_path_factory) -> Classifier:
    return save_classifier(tmp_path_factory.mktemp("pair"), chat=True, seed=2)


# --- reward_model --------------------------------------------------------------------------------------------


def test_reward_model_writes_one_ab_row_per_duel_with_the_bradley_terry_preference(chat_rm, tmp_path):
    judge = build_reward_model_judge("rm", {"method": "reward_model", "model": str(chat_rm.path)}, device="cpu")
    judgments = round_trip(judge.judge(DUELS), tmp_path)

    assert judgments["match_id"].tolist() == DUELS["match_id"].tolist()
    assert set(judgments["order"]) == {"ab"}
    assert set(judgments["judge"]) == {"rm"} and set(judgments["method"]) == {"reward_model"}
    assert judgments["valid"].all() and (judgments["error"] == "").all()
    for duel, verdict in zip(DUELS.itertuples(), judgments.itertuples(), strict=True):
        r_a = last_token_score(chat_rm, chat_text(duel.prompt, duel.answer_a), add_special_tokens=False)
        r_b = last_token_score(chat_rm, chat_text(duel.prompt, duel.answer_b), add_special_tokens=False)
        # Bradley-Terry: p(A beats B) = 1 / (1 + e^-(r_a - r_b)), rescaled from 0..1 to -1..1
        expected = 2 / (1 + math.exp(-(r_a - r_b))) - 1
        assert verdict.score_a == pytest.approx(r_a, abs=1e-5)
        assert verdict.score_b == pytest.approx(r_b, abs=1e-5)
        assert verdict.preference == pytest.approx(expected, abs=1e-5)
        assert json.loads(verdict.raw) == pytest.approx({"reward_a": r_a, "reward_b": r_b}, abs=1e-5)
    # Not all near ties: the comparisons above test who wins, not only that nothing was computed.
    assert judgments["preference"].abs().max() > 0.1


def test_reward_model_scores_each_distinct_prompt_and_answer_once(chat_rm):
    judge = build_reward_model_judge("rm", {"model": str(chat_rm.path), "batch_size": 3}, device="cpu")
    seen = count_sequences(judge.model)
    judgments = judge.judge(DUELS)
    # DUELS holds 10 answers, 8 distinct (prompt, answer): "5" to prompt 0 and "5, since ..." to prompt 2 come twice.
    # "5" and "six" also answer prompt 2, a different text each: the prompt is part of what is scored.
    assert sum(seen) == 8
    assert seen == [3, 3, 2]
    assert len(judgments) == len(DUELS)


def test_reward_model_without_chat_template_or_pad_token_joins_prompt_and_answer_by_a_newline(plain_rm):
    judge = build_reward_model_judge("rm", {"model": str(plain_rm.path), "batch_size": 7}, device="cpu")
    # Padded with eos: each answer is scored at its own last token, whatever the longest text in its batch.
    assert judge.tokenizer.pad_token_id == judge.tokenizer.eos_token_id == judge.model.config.pad_token_id
    judgments = judge.judge(DUELS)
    for duel, verdict in zip(DUELS.itertuples(), judgments.itertuples(), strict=True):
        assert verdict.score_a == pytest.approx(last_token_score(plain_rm, f"{duel.prompt}\n{duel.answer_a}"), abs=1e-5)
        assert verdict.score_b == pytest.approx(last_token_score(plain_rm, f"{duel.prompt}\n{duel.answer_b}"), abs=1e-5)


def test_reward_model_template_formats_prompt_and_answer(chat_rm):
    template = "Q: {prompt} | A: {answer}"
    judge = build_reward_model_judge("rm", {"model": str(chat_rm.path), "template": template}, device="cpu")
    [verdict] = judge.judge(DUELS.head(1)).itertuples()
    assert verdict.score_a == pytest.approx(last_token_score(chat_rm, f"Q: {PROMPTS[0]} | A: {ANSWERS[0]}"), abs=1e-5)
    assert verdict.score_b == pytest.approx(last_token_score(chat_rm, f"Q: {PROMPTS[0]} | A: {ANSWERS[1]}"), abs=1e-5)


def test_reward_model_truncates_to_max_length_tokens(chat_rm, caplog):
    judge = build_reward_model_judge("rm", {"model": str(chat_rm.path), "max_length": 6}, device="cpu")
    [verdict] = judge.judge(DUELS.tail(1)).itertuples()
    expected = last_token_score(chat_rm, chat_text(PROMPTS[2], ANSWERS[0]), add_special_tokens=False, limit=6)
    assert verdict.score_a == pytest.approx(expected, abs=1e-5)
    assert "2 of 2 texts exceed max_length 6 tokens" in caplog.text


def test_reward_model_records_a_non_finite_reward_as_invalid(chat_rm):
    judge = build_reward_model_judge("rm", {"model": str(chat_rm.path)}, device="cpu")
    with torch.no_grad():
        judge.model.score.weight.fill_(math.nan)
    judgments = judge.judge(DUELS.head(2))
    assert not judgments["valid"].any()
    assert judgments["preference"].isna().all() and judgments["score_a"].isna().all()
    assert set(judgments["error"]) == {"the reward model gave a non-finite reward"}


def test_judges_of_no_duel_write_an_empty_table(chat_rm, pair_model, tmp_path):
    reward = build_reward_model_judge("rm", {"model": str(chat_rm.path)}, device="cpu")
    pairwise = build_pairwise_judge("pr", {"model": str(pair_model.path)}, device="cpu")
    for judge in (reward, pairwise):
        assert round_trip(judge.judge(DUELS.head(0)), tmp_path).empty


# --- pairwise ------------------------------------------------------------------------------------------------


def test_pairwise_judges_both_orders_and_maps_them_back_to_the_match(pair_model, tmp_path):
    params = {"method": "pairwise", "model": str(pair_model.path), "batch_size": 4}
    judgments = round_trip(build_pairwise_judge("pr", params, device="cpu").judge(DUELS), tmp_path)

    assert judgments["match_id"].tolist() == [m for m in DUELS["match_id"] for _ in range(2)]
    assert judgments["order"].tolist() == ["ab", "ba"] * len(DUELS)
    assert set(judgments["method"]) == {"pairwise"} and judgments["valid"].all()
    rows = judgments.set_index(["match_id", "order"])
    for duel in DUELS.itertuples():
        # "ab" shows A first: p(A better) = sigmoid(logit); "ba" shows B first: p(B better) = sigmoid(logit)
        logit_ab = last_token_score(pair_model, pair_text(duel.prompt, duel.answer_a, duel.answer_b))
        logit_ba = last_token_score(pair_model, pair_text(duel.prompt, duel.answer_b, duel.answer_a))
        ab, ba = rows.loc[(duel.match_id, "ab")], rows.loc[(duel.match_id, "ba")]
        assert ab.score_a == pytest.approx(1 / (1 + math.exp(-logit_ab)), abs=1e-5)
        assert ab.score_b == pytest.approx(1 / (1 + math.exp(logit_ab)), abs=1e-5)
        assert ba.score_b == pytest.approx(1 / (1 + math.exp(-logit_ba)), abs=1e-5)
        assert ba.score_a == pytest.approx(1 / (1 + math.exp(logit_ba)), abs=1e-5)
        for verdict in (ab, ba):
            assert verdict.preference == pytest.approx(verdict.score_a - verdict.score_b, abs=1e-12)
        assert json.loads(ab.raw)["logit"] == pytest.approx(logit_ab, abs=1e-5)
    assert judgments["preference"].abs().max() > 0.1


def test_pairwise_swapping_the_answers_mirrors_the_preference(pair_model):
    judge = build_pairwise_judge("pr", {"model": str(pair_model.path)}, device="cpu")
    judgments = judge.judge(duels([(PROMPTS[1], ANSWERS[3], ANSWERS[4]), (PROMPTS[1], ANSWERS[4], ANSWERS[3])]))
    preference = judgments.set_index(["match_id", "order"])["preference"]
    # d0 shown "ab" and d1 shown "ba" are the same text: the same verdict, seen from the other side.
    assert preference["d0", "ab"] == pytest.approx(-preference["d1", "ba"], abs=1e-6)
    assert preference["d0", "ba"] == pytest.approx(-preference["d1", "ab"], abs=1e-6)
    assert abs(preference["d0", "ab"]) > 1e-3


def test_pairwise_template_formats_prompt_and_both_answers(pair_model):
    template = "{prompt} || {first} vs {second}"
    judge = build_pairwise_judge("pr", {"model": str(pair_model.path), "template": template}, device="cpu")
    verdict = judge.judge(DUELS.head(1)).iloc[0]
    logit = last_token_score(pair_model, f"{PROMPTS[0]} || {ANSWERS[0]} vs {ANSWERS[1]}")
    assert verdict.score_a == pytest.approx(1 / (1 + math.exp(-logit)), abs=1e-5)


# --- both ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [build_reward_model_judge, build_pairwise_judge])
def test_batch_size_does_not_change_the_verdicts(build, chat_rm):
    one, seven = (build("j", {"model": str(chat_rm.path), "batch_size": b}, device="cpu") for b in (1, 7))
    by_one, by_seven = one.judge(DUELS), seven.judge(DUELS)
    pd.testing.assert_frame_equal(by_one.drop(columns="raw"), by_seven.drop(columns="raw"), atol=1e-5, rtol=0)


@pytest.mark.parametrize("build", [build_reward_model_judge, build_pairwise_judge])
def test_a_classifier_with_two_labels_is_refused_by_name(build, tmp_path):
    path = save_classifier(tmp_path, chat=True, num_labels=2).path
    with pytest.raises(ValueError, match=rf"judge j: model {path} has num_labels 2; .*num_labels 1"):
        build("j", {"model": str(path)}, device="cpu")


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, r"judge j: 'model' must be given as a local path or hub id, got None"),
        ({"model": ""}, r"judge j: 'model' must be given"),
        ({"model": "m", "temperature": 0.5}, r"judge j: unknown key\(s\) \['temperature'\]; expected some of"),
        ({"model": "m", "batch_size": 0}, r"judge j: 'batch_size' must be an integer >= 1, got 0"),
        ({"model": "m", "batch_size": True}, r"judge j: 'batch_size' must be an integer >= 1, got True"),
        ({"model": "m", "max_length": "512"}, r"judge j: 'max_length' must be an integer >= 1, got '512'"),
        ({"model": "m", "trust_remote_code": "yes"}, r"judge j: 'trust_remote_code' must be true or false"),
        ({"model": "m", "template": 3}, r"judge j: 'template' must be a format string using \{prompt\}, \{answer\}"),
        ({"model": "m", "template": "{answer}"}, r"must use exactly \{prompt\}, \{answer\}; .* \['answer'\]"),
        ({"model": "m", "template": "{prompt} {answer} {reference}"}, r"uses \['answer', 'prompt', 'reference'\]"),
        ({"model": "m", "template": "{prompt} {answer"}, r"judge j: 'template' .* is not a valid format string"),
    ],
)
def test_bad_reward_model_params_fail_before_loading(params, error):
    # "m" is no model anywhere: the params are checked before anything is loaded.
    with pytest.raises(ValueError, match=error):
        build_reward_model_judge("j", params, device="cpu")


def test_a_pairwise_template_must_show_the_prompt_and_both_answers():
    with pytest.raises(ValueError, match=r"exactly \{prompt\}, \{first\}, \{second\}; .* uses \['answer', 'prompt'\]"):
        build_pairwise_judge("j", {"model": "m", "template": "{prompt} {answer}"}, device="cpu")
