import json

import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from agon.bootstrap.model import TinyModelConfig, build_model
from agon.bootstrap.sft import check_context
from agon.bootstrap.tokenizer import CHAT_TEMPLATE, train_tokenizer

TEXTS = [f"What is {a}+{b}? {a + b}" for a in range(200) for b in range(10)]


def test_digits_are_single_tokens():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    ids = tokenizer("What is 123+4?", add_special_tokens=False)["input_ids"]
    pieces = [tokenizer.decode([i]) for i in ids]
    assert [p for p in pieces if p in "0123456789+"] == ["1", "2", "3", "+", "4"]
    assert tokenizer.decode(ids) == "What is 123+4?"


def test_chat_template_renders_the_prompt_as_a_prefix_of_the_conversation():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    assert tokenizer.chat_template == CHAT_TEMPLATE
    user = [{"role": "user", "content": "What is 1+2?"}]
    prompt = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template([*user, {"role": "assistant", "content": "3"}], tokenize=False)
    assert prompt == "<|user|>What is 1+2?<|end|><|assistant|>"
    assert full == prompt + "3<|end|>"


def test_default_model_has_about_a_million_parameters_and_is_seeded():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    a = build_model(TinyModelConfig(), tokenizer, seed=3)
    b = build_model(TinyModelConfig(), tokenizer, seed=3)
    c = build_model(TinyModelConfig(), tokenizer, seed=4)
    # 4 blocks x (4*128^2 attention + 3*128*512 MLP + 2*128 norms) + tied embeddings + final norm
    expected = 4 * (4 * 128 * 128 + 3 * 128 * 512 + 2 * 128) + len(tokenizer) * 128 + 128
    assert a.num_parameters() == expected
    assert 0.9e6 < expected < 1.2e6
    assert torch.equal(a.model.embed_tokens.weight, b.model.embed_tokens.weight)
    assert not torch.equal(a.model.embed_tokens.weight, c.model.embed_tokens.weight)


def test_trained_member_is_a_loadable_model_directory_that_learned(tiny_member):
    tokenizer = AutoTokenizer.from_pretrained(tiny_member)
    model = AutoModelForCausalLM.from_pretrained(tiny_member)
    assert tokenizer.chat_template == CHAT_TEMPLATE
    assert model.config.num_hidden_layers == 2
    metrics = json.loads((tiny_member / "train_metrics.json").read_text())
    losses = [row["loss"] for row in metrics["log"] if "loss" in row]
    assert metrics["steps"] == 20
    assert losses[-1] < losses[0]
    assert not (tiny_member / "trainer").exists()


def test_training_stops_once_validation_accuracy_reaches_the_target(tmp_path, micro_splits, tiny_member):
    from agon.bootstrap.sft import MemberSFTConfig, train_member

    # target 0.0 is reached at the first check: training stops at step eval_every, not at steps
    cfg = MemberSFTConfig(
        steps=50, batch_size=16, warmup_steps=1, target_accuracy=0.0, eval_every=4, validation_size=10
    )
    train_member(
        micro_splits["train"],
        tiny_member,
        tmp_path / "m",
        TinyModelConfig(hidden_size=16, intermediate_size=32, layers=1, heads=2, max_positions=32),
        cfg,
        seed=0,
    )
    metrics = json.loads((tmp_path / "m" / "train_metrics.json").read_text())
    assert metrics["steps"] == 4
    assert metrics["validation_greedy_accuracy"] >= 0.0
    assert [row["step"] for row in metrics["log"] if "validation_greedy_accuracy" in row] == [4]


def test_sft_data_the_context_cannot_hold_is_refused_and_cut_examples_are_counted(caplog):
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    # "<|user|>" + prompt + "<|end|><|assistant|>" + answer + "<|end|>": 4 role tokens around the texts
    frame = pd.DataFrame({"prompt": ["What is 1+2?", "What is 10+20?"], "reference": ["3", "30"]})
    with pytest.raises(ValueError, match=r"max_positions=8 is shorter than every SFT example .* raise it"):
        check_context(frame, tokenizer, 8)
    short, long_ = (
        len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 4 for t in ("What is 1+2?3", "What is 10+20?30")
    )
    with caplog.at_level("WARNING"):
        check_context(frame, tokenizer, short)
    assert f"1 of 2 SFT examples exceed max_positions={short}" in caplog.text
    caplog.clear()
    check_context(frame, tokenizer, long_)
    assert "exceed" not in caplog.text
