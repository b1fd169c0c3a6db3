"""Generation with Hugging Face transformers: batched, left-padded, KV-cached, chat template applied."""

import inspect
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

    def _inputs(self, batch: dict[str, torch.Tensor], n: int) -> dict:
        """``generate``'s inputs for ``n`` answers to each prompt of ``batch``, the prompt computed once.

        transformers' ``num_return_sequences`` copies each prompt ``n`` times before the prefill, so the prompt's
        forward pass runs ``n`` times over; with short answers that is most of the work. Here the prompt (all but its
        last token, which ``generate`` needs to start from) runs once into a KV cache that is then repeated per
        answer, transformers' documented way to reuse a prefix cache. The rows come out in ``num_return_sequences``'
        order, so each answer draws the same random numbers as it would there.
        """
        ids, mask = batch["input_ids"], batch["attention_mask"]
        if n == 1 or ids.shape[1] < 2:
            return {**batch, "num_return_sequences": n}
        # Positions counted from each prompt's first token, as generate counts them past left padding (masked anyway).
        positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
        prefill = {"input_ids": ids[:, :-1], "attention_mask": mask[:, :-1], "position_ids": positions[:, :-1]}
        cache = self.model(**prefill, use_cache=True)[self._cache_name]
        cache.batch_repeat_interleave(n)
        return {
            "input_ids": ids.repeat_interleave(n, dim=0),
            "attention_mask": mask.repeat_interleave(n, dim=0),
            self._cache_name: cache,
        }

    @property
    def _cache_name(self) -> str:
        """Newer transformers name the KV cache ``cache`` (the old name warns); the vllm extra pins an older one."""
        return "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

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
                **self._inputs(batch, sampling.n),
                max_new_tokens=sampling.max_new_tokens,
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
