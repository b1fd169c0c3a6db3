"""Soft SPPO: Self-Play Preference Optimization (Wu et al. 2024, https://arxiv.org/abs/2405.00675) on TRL's DPOTrainer.

SPPO regresses each completion's log-ratio log pi(y|x) - log pi_t(y|x) onto (P(y > pi_t) - 1/2) / beta, where
P(y > pi_t) is the estimated probability that y beats the current policy (from the tournament's ratings). TRL only
ships the hard case ``sppo_hard`` (P = 1 for the winner, 0 for the loser); this module adds the soft one. Everything
else (tokenisation, collation, the reference model, the optimiser) is TRL's.
"""

from collections.abc import Callable
from typing import Any

import torch
from peft import PeftModel
from transformers import PreTrainedModel
from trl import DPOConfig, DPOTrainer

PROB_COLUMNS = ("chosen_probs", "rejected_probs")
# Batch keys the model's forward must not receive (TRL's own list plus ours).
_NON_MODEL_KEYS = {"completion_mask", "ref_chosen_logps", "ref_rejected_logps", *PROB_COLUMNS}


def sppo_soft_loss(
    chosen_logratios: torch.Tensor,
    rejected_logratios: torch.Tensor,
    chosen_probs: torch.Tensor,
    rejected_probs: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """Per-pair SPPO loss (Eq. 4.7 of the paper), unreduced; P_w = 1, P_l = 0 gives TRL's ``sppo_hard``."""
    chosen_error = chosen_logratios - (chosen_probs - 0.5) / beta
    rejected_error = rejected_logratios - (rejected_probs - 0.5) / beta
    return chosen_error**2 + rejected_error**2


class _WithProbs:
    """Wraps TRL's preference collator, which keeps only the token fields, so the probabilities reach the loss."""

    def __init__(self, collator: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> None:
        self.collator = collator

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.collator(examples)
        for column in PROB_COLUMNS:
            batch[column] = torch.tensor([example[column] for example in examples], dtype=torch.float32)
        return batch


class SPPOTrainer(DPOTrainer):
    """DPOTrainer with the soft SPPO loss plus ``sft_weight`` times TRL's "sft" NLL of the chosen completion.

    The dataset carries float columns ``chosen_probs`` and ``rejected_probs`` (P(y > pi_t)) beside prompt, chosen and
    rejected. ``args.loss_type`` must be ``["sppo_hard"]``: TRL needs a loss type to initialise, this trainer replaces
    the loss, and sppo_hard is the special case it generalises, so the config names what is trained. The reference is
    TRL's: for a PeftModel, a frozen copy ("ref") of the adapter as it starts (for a fresh adapter, the base model); the
    base with adapters disabled when TRL builds the adapter from ``peft_config``; the precomputed log-probs with
    ``precompute_ref_log_probs``.
    """

    def __init__(
        self, model: PreTrainedModel | PeftModel, args: DPOConfig, *, sft_weight: float = 0.0, **kwargs: Any
    ) -> None:
        # The loss below sums whole-sequence log-probs with unit weight: refuse the options it would silently ignore.
        if (
            args.loss_type != ["sppo_hard"]
            or args.loss_weights not in (None, [1.0])
            or args.ld_alpha is not None
            or args.use_weighting
        ):
            raise ValueError(
                "SPPOTrainer needs loss_type=['sppo_hard'], loss_weights=None, ld_alpha=None and use_weighting=False"
            )
        super().__init__(model=model, args=args, **kwargs)
        self.sft_weight = sft_weight
        self.data_collator = _WithProbs(self.data_collator)

    def _set_signature_columns_if_needed(self) -> None:
        # Trainer drops dataset columns outside this list before collation.
        if self._signature_columns is None:
            super()._set_signature_columns_if_needed()
            self._signature_columns += PROB_COLUMNS

    def _compute_loss(
        self, model: torch.nn.Module, inputs: dict[str, torch.Tensor], return_outputs: bool
    ) -> torch.Tensor:
        """The policy forward as in TRL's ``_compute_loss``; the reference through TRL's own code."""
        if return_outputs:  # deprecated in TRL; the fused head builds no logits to return
            raise NotImplementedError("SPPOTrainer computes the loss only: set prediction_loss_only=True to evaluate")
        mode = "train" if self.model.training else "eval"
        batch = {k: v for k, v in inputs.items() if k not in PROB_COLUMNS}
        completion_mask = batch["completion_mask"]
        labels = batch["input_ids"].masked_fill(completion_mask == 0, -100)
        model_kwargs = {k: v for k, v in batch.items() if k not in _NON_MODEL_KEYS}
        outputs = model(**model_kwargs, labels=labels, use_cache=False, fused_lm_head=True)
        shift_mask = completion_mask[:, 1:]
        # Zero outside the completion; prompt-learning PEFT prepends virtual tokens, hence the slice from the end.
        per_token_logps = outputs.log_probs[:, -shift_mask.size(1) :]
        chosen_logps, rejected_logps = per_token_logps.sum(dim=1).chunk(2)  # batch is [chosen, rejected]

        if self.precompute_ref_logps:
            ref_chosen_logps, ref_rejected_logps = batch["ref_chosen_logps"], batch["ref_rejected_logps"]
        else:
            ref_chosen_logps, ref_rejected_logps = self.compute_ref_log_probs(self.ref_model or self.model, batch)
        chosen_logratios = chosen_logps - ref_chosen_logps
        rejected_logratios = rejected_logps - ref_rejected_logps

        sppo = sppo_soft_loss(
            chosen_logratios, rejected_logratios, inputs["chosen_probs"], inputs["rejected_probs"], self.beta
        ).mean()
        chosen_per_token_logps = per_token_logps.chunk(2)[0]
        nll = -chosen_per_token_logps[shift_mask.chunk(2)[0].bool()].mean()  # TRL's "sft" loss term
        loss = sppo + self.sft_weight * nll

        gather = self.accelerator.gather_for_metrics
        for name, value in {
            "sppo_loss": sppo.detach(),
            "nll": nll.detach(),
            "logratios/chosen": chosen_logratios.detach(),
            "logratios/rejected": rejected_logratios.detach(),
        }.items():
            self._metrics[mode][name].append(gather(value).mean().item())
        return loss
