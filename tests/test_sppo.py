import datasets
import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
from trl import DPOConfig

from agon.models import ModelSpec, load_tokenizer
from agon.selfplay.sppo import SPPOTrainer, sppo_soft_loss

N_PAIRS = 16


def test_soft_loss_by_hand():
    # c=0.3, r=-0.2, P_w=0.8, P_l=0.3, beta=0.5: (0.3 - 0.3/0.5)^2 + (-0.2 - (-0.2)/0.5)^2
    #   = (0.3 - 0.6)^2 + (-0.2 + 0.4)^2 = 0.09 + 0.04 = 0.13
    # c=1, r=0, P_w=P_l=0.5, beta=0.1: targets 0, so 1^2 + 0^2 = 1
    loss = sppo_soft_loss(
        torch.tensor([0.3, 1.0]), torch.tensor([-0.2, 0.0]), torch.tensor([0.8, 0.5]), torch.tensor([0.3, 0.5]), 0.5
    )
    assert loss.shape == (2,)  # one loss per pair, no reduction
    assert loss.tolist() == pytest.approx([0.13, 1.0])


def test_hard_probabilities_give_trls_sppo_hard():
    c, r, beta = torch.linspace(-3.0, 3.0, 5), torch.linspace(2.0, -2.0, 5), 0.1
    trl_sppo_hard = (c - 0.5 / beta) ** 2 + (r + 0.5 / beta) ** 2  # TRL 1.16's DPOTrainer, loss_type="sppo_hard"
    assert torch.allclose(sppo_soft_loss(c, r, torch.ones(5), torch.zeros(5), beta), trl_sppo_hard)


def test_loss_and_gradient_vanish_at_the_target_logratios():
    # The minimum sits at c = (P_w - 1/2)/beta = (0.9 - 0.5)/0.2 = 2 and r = (0.25 - 0.5)/0.2 = -1.25.
    c = torch.tensor([2.0], requires_grad=True)
    r = torch.tensor([-1.25], requires_grad=True)
    loss = sppo_soft_loss(c, r, torch.tensor([0.9]), torch.tensor([0.25]), 0.2).sum()
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-12)
    assert c.grad.item() == pytest.approx(0.0, abs=1e-6) and r.grad.item() == pytest.approx(0.0, abs=1e-6)


def _dataset(p_chosen: float, p_rejected: float) -> datasets.Dataset:
    """Subtractions with a negative result; the rejected answer drops the sign."""
    gaps = [1 + k % 8 for k in range(N_PAIRS)]
    return datasets.Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": f"What is {k}-{k + d}?"}] for k, d in enumerate(gaps)],
            "chosen": [[{"role": "assistant", "content": f"-{d}"}] for d in gaps],
            "rejected": [[{"role": "assistant", "content": f"{d}"}] for d in gaps],
            "chosen_probs": [p_chosen] * N_PAIRS,
            "rejected_probs": [p_rejected] * N_PAIRS,
        }
    )


def _trainer(
    tiny_member,
    tmp_path,
    probs: tuple[float, float],
    *,
    batch_size: int = 4,
    sft_weight: float = 0.0,
    adapter=None,
    precompute: bool = False,
):
    """A fresh LoRA adapter on the tiny member, or ``adapter`` continued (as training.py's ``_policy`` does)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_member, dtype=torch.float32)
    if adapter is None:
        lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM")
        policy = get_peft_model(base, lora)
    else:
        policy = PeftModel.from_pretrained(base, adapter, is_trainable=True)
    args = DPOConfig(
        output_dir=str(tmp_path / "trainer"),
        loss_type=["sppo_hard"],
        beta=0.1,
        # Adam's first steps move every weight by about the rate: larger ones overshoot on this tiny model.
        learning_rate=2.0e-3,
        lr_scheduler_type="constant",
        num_train_epochs=1,
        per_device_train_batch_size=batch_size,
        max_length=32,
        use_cpu=True,
        bf16=False,
        activation_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        precompute_ref_log_probs=precompute,
        prediction_loss_only=True,  # SPPOTrainer's evaluate reports the loss and metrics, not logits
    )
    tokenizer = load_tokenizer(ModelSpec(name="m", base=str(tiny_member)))
    trainer = SPPOTrainer(
        policy, args, train_dataset=_dataset(*probs), processing_class=tokenizer, sft_weight=sft_weight
    )
    return trainer, tokenizer


def _completion_token_logps(model: PeftModel, tokenizer, example: dict, column: str) -> torch.Tensor:
    """log pi(y_t | x, y_<t) of the completion from plain logits, independent of TRL's fused head and collator."""
    prompt = tokenizer.apply_chat_template(example["prompt"], add_generation_prompt=True)["input_ids"]
    ids = tokenizer.apply_chat_template(example["prompt"] + example[column])["input_ids"]
    assert ids[: len(prompt)] == prompt
    with torch.no_grad():
        token_logps = model(torch.tensor([ids])).logits[0, :-1].log_softmax(-1)
    return token_logps.gather(-1, torch.tensor(ids[1:])[:, None])[len(prompt) - 1 :, 0]


def _completion_logps(model: PeftModel, tokenizer, column: str) -> torch.Tensor:
    return torch.stack([_completion_token_logps(model, tokenizer, ex, column).sum() for ex in _dataset(0.5, 0.5)])


def _logratios(model: PeftModel, tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    policy = {c: _completion_logps(model, tokenizer, c) for c in ("chosen", "rejected")}
    with model.disable_adapter():  # a fresh adapter's reference is the base model
        reference = {c: _completion_logps(model, tokenizer, c) for c in ("chosen", "rejected")}
    return policy["chosen"] - reference["chosen"], policy["rejected"] - reference["rejected"]


@pytest.mark.parametrize("precompute", [False, True], ids=["reference-forward", "precomputed-reference"])
def test_even_odds_give_zero_loss_and_leave_the_policy_alone(tiny_member, tmp_path, precompute):
    # P_w = P_l = 1/2: target log-ratios 0 = the fresh adapter's, so loss and gradient are 0 and Adam never moves.
    trainer, tokenizer = _trainer(tiny_member, tmp_path, (0.5, 0.5), precompute=precompute)
    trainer.train()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    assert len(losses) == N_PAIRS // 4 and all(loss == 0.0 for loss in losses)
    chosen, rejected = _logratios(trainer.model, tokenizer)
    assert torch.equal(chosen, torch.zeros(N_PAIRS)) and torch.equal(rejected, torch.zeros(N_PAIRS))


def test_sft_weight_adds_trls_nll_of_the_chosen_answers(tiny_member, tmp_path):
    trainer, tokenizer = _trainer(tiny_member, tmp_path, (0.5, 0.5), batch_size=N_PAIRS, sft_weight=2.0)
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["chosen_probs"].tolist() == [0.5] * N_PAIRS  # the column survived TRL's pipeline
    loss = trainer.compute_loss(trainer.model, batch)
    # The SPPO term is 0 (even odds, policy = reference), leaving 2 x the mean NLL per chosen completion token.
    chosen = torch.cat([_completion_token_logps(trainer.model, tokenizer, ex, "chosen") for ex in _dataset(0.5, 0.5)])
    assert loss.item() == pytest.approx(-2.0 * chosen.mean().item(), rel=1e-5)


def test_confident_odds_raise_the_chosen_and_lower_the_rejected_logratio(tiny_member, tmp_path):
    trainer, tokenizer = _trainer(tiny_member, tmp_path, (0.9, 0.1))
    chosen_before, rejected_before = _logratios(trainer.model, tokenizer)
    trainer.train()
    # Step 1 starts at c = r = 0: (0 - 0.4/0.1)^2 + (0 + 0.4/0.1)^2 = 16 + 16 = 32 (hard labels would give 50).
    first = trainer.state.log_history[0]
    assert first["loss"] == pytest.approx(32.0, rel=1e-5) and first["logratios/chosen"] == 0.0
    chosen_after, rejected_after = _logratios(trainer.model, tokenizer)
    assert chosen_after.mean() > chosen_before.mean() + 0.02  # 0 -> 0.08 when written
    assert rejected_after.mean() < rejected_before.mean() - 0.02  # 0 -> -0.13
    # The trainer's own log-ratios (its reference: the base, as the adapter started at zero) agree.
    metrics = trainer.evaluate(_dataset(0.9, 0.1))
    assert metrics["eval_logratios/chosen"] == pytest.approx(chosen_after.mean().item(), abs=1e-5)
    assert metrics["eval_logratios/rejected"] == pytest.approx(rejected_after.mean().item(), abs=1e-5)

    trainer.model.save_pretrained(tmp_path / "adapter", selected_adapters=["default"])
    weights = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert any(w.abs().sum() > 0 for name, w in weights.items() if "lora_B" in name)  # B starts at 0

    # The next iteration continues the adapter against TRL's frozen copy of it: log-ratios 0 again, not the
    # ones above, so even odds give loss 0.
    trainer, _ = _trainer(tiny_member, tmp_path, (0.5, 0.5), adapter=tmp_path / "adapter")
    metrics = trainer.evaluate(_dataset(0.5, 0.5))
    assert metrics["eval_loss"] == 0.0 and metrics["eval_logratios/chosen"] == 0.0


def test_refuses_a_loss_type_it_would_ignore(tmp_path):
    with pytest.raises(ValueError, match="sppo_hard"):
        SPPOTrainer(None, DPOConfig(output_dir=str(tmp_path), loss_type=["sigmoid"], use_cpu=True))
