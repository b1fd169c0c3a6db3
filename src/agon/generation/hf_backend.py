"""Generation with Hugging Face transformers: batched, left-padded, KV-cached, chat template applied."""

import logging

import torch
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from agon.generation.protocol import Completion, SamplingConfig
from agon.seeding import derive_seed

logger = logging.getLogger(__name__)


class HFGenerator:
    backend = "hf"

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt directly

    def _encode(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        texts = [
            self.tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
            )
            for p in prompts
        ]
        # The chat template already holds any special tokens the model expects.
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        return {k: v.to(self.model.device) for k, v in batch.items()}

    @torch.inference_mode()
    def generate(self, prompts: list[str], sampling: SamplingConfig, seed: int) -> list[list[Completion]]:
        results: list[list[Completion]] = []
        eos = self.tokenizer.eos_token_id
        starts = range(0, len(prompts), sampling.batch_size)
        for number, start in enumerate(tqdm(starts, desc="generate", unit="batch", mininterval=5)):
            batch = self._encode(prompts[start : start + sampling.batch_size])
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
            completions = [self._completion(row, eos) for row in new]
            results.extend(completions[i : i + sampling.n] for i in range(0, len(completions), sampling.n))
        return results

    def _completion(self, tokens: torch.Tensor, eos: int) -> Completion:
        ids = tokens.tolist()
        stopped = eos in ids
        ids = ids[: ids.index(eos)] if stopped else ids
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return Completion(text=text, n_tokens=len(ids), finish_reason="stop" if stopped else "length")
