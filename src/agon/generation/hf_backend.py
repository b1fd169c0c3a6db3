"""Generation with Hugging Face transformers: batched, left-padded, KV-cached, chat template applied."""

import logging
from collections.abc import Mapping

import torch
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from agon.generation.protocol import Completion, SamplingConfig
from agon.generation.tokens import chat_text, to_completion
from agon.seeding import derive_seed

logger = logging.getLogger(__name__)


class HFGenerator:
    backend = "hf"

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str = "") -> None:
        self.name = name  # the member whose (merged) weights these are
        self.model = model
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt directly

    def _encode(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        texts = [chat_text(self.tokenizer, p) for p in prompts]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        return {k: v.to(self.model.device) for k, v in batch.items()}

    @torch.inference_mode()
    def generate(self, prompts: list[str], sampling: SamplingConfig, seed: int) -> list[list[Completion]]:
        results: list[list[Completion]] = []
        eos = self.tokenizer.eos_token_id
        context = getattr(self.model.config, "max_position_embeddings", None)
        beyond = 0
        starts = range(0, len(prompts), sampling.batch_size)
        for number, start in enumerate(tqdm(starts, desc="generate", unit="batch", mininterval=5)):
            batch = self._encode(prompts[start : start + sampling.batch_size])
            if context is not None:
                beyond += int((batch["attention_mask"].sum(dim=1) + sampling.max_new_tokens > context).sum())
            # One seed per batch: the outputs do not depend on what ran before in the process.
            torch.manual_seed(derive_seed(seed, "batch", number))
            kwargs = (
                {"do_sample": False}
                if sampling.greedy
                else {
                    "do_sample": True,
                    "temperature": sampling.temperature,
                    "top_p": sampling.top_p,
                    "top_k": sampling.top_k,
                }
            )
            out = self.model.generate(
                **batch,
                max_new_tokens=sampling.max_new_tokens,
                num_return_sequences=sampling.n,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=eos,
                **kwargs,
            )
            new = out[:, batch["input_ids"].shape[1] :]
            completions = [to_completion(self.tokenizer, row.tolist(), eos) for row in new]
            results.extend(completions[i : i + sampling.n] for i in range(0, len(completions), sampling.n))
        if beyond:
            # Counted, not refused: debate's transcripts outgrow a tiny member's context by design (docs/debate.md).
            logger.warning(
                "model %s: %d of %d prompts plus max_new_tokens=%d exceed its context of %d tokens; "
                "their answers come from positions it was never trained on",
                self.name,
                beyond,
                len(prompts),
                sampling.max_new_tokens,
                context,
            )
        return results

    def generate_population(
        self, prompts: Mapping[str, list[str]], sampling: SamplingConfig, seeds: Mapping[str, int]
    ) -> dict[str, list[list[Completion]]]:
        """The PopulationGenerator protocol for the one member this model is."""
        if set(prompts) - {self.name}:
            raise ValueError(f"this hf generator holds member {self.name!r}, not {sorted(set(prompts) - {self.name})}")
        return {name: self.generate(member_prompts, sampling, seeds[name]) for name, member_prompts in prompts.items()}
