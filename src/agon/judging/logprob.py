"""The cheap judge: one forward pass per duel and order, comparing how likely the judge is to answer "A" or "B".

No generation and nothing to parse: the verdict is read off the next-token distribution, so every verdict is
valid. Both orders are judged to cancel the judge's position bias.
"""

import json
import logging

import pandas as pd
import torch
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from agon.judging.peer import chat_prompt_ids, padded_logits
from agon.judging.protocol import ORDERS, Verdict, choice_prompt, in_order, judgments_frame

logger = logging.getLogger(__name__)

CHOICES = ("A", "B")


def choice_token_ids(tokenizer: PreTrainedTokenizerBase, judge: str) -> tuple[int, int]:
    """The token ids of "A" and "B": each must be one token, or its probability is not the choice's."""
    ids = {c: tokenizer(c, add_special_tokens=False)["input_ids"] for c in CHOICES}
    split = {c: i for c, i in ids.items() if len(i) != 1}
    if split:
        raise ValueError(
            f"judge {judge} ({tokenizer.name_or_path}): the logprob judge needs 'A' and 'B' to be single tokens, "
            f"but its tokenizer encodes {split}; use the peer method for this model"
        )
    return ids["A"][0], ids["B"][0]


class LogprobJudge:
    """score_a, score_b = p(A), p(B) renormalised over the two choices and mapped back to the match's A/B."""

    method = "logprob"

    def __init__(self, name: str, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch_size: int) -> None:
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.choice_ids = list(choice_token_ids(tokenizer, name))

    @torch.inference_mode()
    def choice_logprobs(self, prompts: list[str]) -> list[tuple[float, float]]:
        """log p("A"), log p("B") as the judge's next token after each comparison prompt."""
        items = [chat_prompt_ids(self.tokenizer, p) for p in prompts]
        results: list[tuple[float, float]] = []
        starts = range(0, len(items), self.batch_size)
        for start in tqdm(starts, desc=f"logprob {self.name}", unit="batch", mininterval=5):
            batch = items[start : start + self.batch_size]
            logits = padded_logits(self.model, batch, self.tokenizer.pad_token_id)
            last = torch.tensor([len(ids) - 1 for ids in batch], device=logits.device)
            next_token = logits[torch.arange(len(batch), device=logits.device), last].log_softmax(-1)
            results.extend(tuple(row) for row in next_token[:, self.choice_ids].tolist())
        return results

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        shown = [(row, order) for row in duels.itertuples(index=False) for order in ORDERS]
        prompts = [choice_prompt(row.prompt, row.answer_a, row.answer_b, order) for row, order in shown]
        verdicts = []
        for (row, order), (logprob_first, logprob_second) in zip(shown, self.choice_logprobs(prompts), strict=True):
            # p(A) / (p(A) + p(B)) as a sigmoid of the log-odds: exact even when both probabilities underflow.
            p_first = torch.sigmoid(torch.tensor(logprob_first - logprob_second)).item()
            score_a, score_b = in_order(order, p_first, 1.0 - p_first)
            raw = json.dumps({"logprob_A": logprob_first, "logprob_B": logprob_second})
            verdicts.append(Verdict(row.match_id, order, score_a, score_b, score_a - score_b, raw))
        return judgments_frame(verdicts, self.name, self.method)
