"""Population members as judges of the duels they are not in.

Two modes. ``likelihood`` asks how probable the judge finds each answer: no instruction to follow, so even a
tiny model gives an informative verdict. ``score`` asks the judge to rate both answers from 1 to 10 in both
orders, as SPARTA's judges do; a reply that does not parse is recorded as invalid, never given a default.
"""

import json
import logging
import math
import re
from collections.abc import Mapping

import pandas as pd
import torch
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from agon.generation import Generator, SamplingConfig, make_generator
from agon.judging.protocol import ORDERS, Judge, JudgeConfig, Verdict, in_order, judgments_frame
from agon.models import ModelSpec, load_for_inference, resolve_device

logger = logging.getLogger(__name__)

SCORE_TEMPLATE = (
    "Rate each answer to the question from 1 (worst) to 10 (best).\n"
    "Question: {prompt}\n"
    "Answer A: {first}\n"
    "Answer B: {second}\n"
    'Reply exactly like "A: 7 B: 3".'
)
SCORE_RANGE = (1, 10)
# Labels and integers must be there; spacing and a comma or semicolon between the two are forgiven.
_SCORES = re.compile(r"\bA\s*:\s*(-?\d+)\s*[,;]?\s*B\s*:\s*(-?\d+)")


class VerdictError(ValueError):
    """A judge's reply that holds no usable verdict; the message says why and is recorded as the error."""


def parse_scores(reply: str) -> tuple[int, int]:
    """The (first, second) scores of a reply like "A: 7 B: 3", as shown to the judge."""
    found = set(_SCORES.findall(reply))
    if not found:
        raise VerdictError('no verdict of the form "A: <score> B: <score>" in the reply')
    if len(found) > 1:
        raise VerdictError(f"conflicting verdicts {sorted(found)} in the reply")
    low, high = SCORE_RANGE
    first, second = (int(s) for s in found.pop())
    if not (low <= first <= high and low <= second <= high):
        raise VerdictError(f"scores A: {first} B: {second} outside {low}..{high}")
    return first, second


def score_prompt(prompt: str, answer_a: str, answer_b: str, order: str) -> str:
    """The rating request for a duel, its answers shown in ``order``."""
    first, second = in_order(order, answer_a, answer_b)
    return SCORE_TEMPLATE.format(prompt=prompt, first=first, second=second)


def score_verdict(match_id: str, order: str, reply: str) -> Verdict:
    """Parse a reply to the prompt shown in ``order`` and map its scores back to the match's own A and B."""
    try:
        first, second = parse_scores(reply)
    except VerdictError as err:
        return Verdict.invalid(match_id, order, reply, str(err))
    score_a, score_b = in_order(order, float(first), float(second))
    low, high = SCORE_RANGE
    return Verdict(match_id, order, score_a, score_b, (score_a - score_b) / (high - low), reply)


class ScoreJudge:
    """Rates both answers from 1 to 10 in both orders, greedily, with any text Generator."""

    method = "peer"

    def __init__(self, name: str, generator: Generator, cfg: JudgeConfig) -> None:
        self.name = name
        self.generator = generator
        self.sampling = SamplingConfig(
            max_new_tokens=cfg.max_new_tokens, temperature=0.0, n=1, batch_size=cfg.batch_size
        )

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        shown = [(row, order) for row in duels.itertuples(index=False) for order in ORDERS]
        prompts = [score_prompt(row.prompt, row.answer_a, row.answer_b, order) for row, order in shown]
        # Greedy decoding ignores the seed.
        replies = self.generator.generate(prompts, self.sampling, seed=0)
        verdicts = [
            score_verdict(row.match_id, order, reply.text) for (row, order), [reply] in zip(shown, replies, strict=True)
        ]
        invalid = sum(v.error != "" for v in verdicts)
        logger.info("judge %s: %d of %d score verdicts invalid", self.name, invalid, len(verdicts))
        return judgments_frame(verdicts, self.name, self.method)


def chat_prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: str) -> list[int]:
    """Token ids of ``prompt`` as a user turn, up to where the assistant's reply starts."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    # The chat template already holds any special tokens the model expects.
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def padded_logits(model: PreTrainedModel, sequences: list[list[int]], pad_id: int) -> torch.Tensor:
    """Next-token logits (batch, longest, vocab) in float32 of right-padded ``sequences``.

    Right padding keeps every sequence at positions 0..n-1, so its logits match those it gets alone.
    """
    longest = max(map(len, sequences))
    ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits.float()


class LikelihoodJudge:
    """Scores each answer by the judge's mean log-probability per token of it (and of stopping after it).

    Averaging per token keeps long answers from losing just for being long; scoring the end-of-sequence
    token penalises an answer cut short. The prompt's own tokens are context only, never scored.
    """

    method = "peer"

    def __init__(self, name: str, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch_size: int) -> None:
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @torch.inference_mode()
    def answer_logprobs(self, prompts: list[str], answers: list[str]) -> list[tuple[float, int]]:
        """(mean log-probability per token, number of tokens scored) of each answer to its prompt."""
        eos = self.tokenizer.eos_token_id
        items = [
            (chat_prompt_ids(self.tokenizer, p), self.tokenizer(a, add_special_tokens=False)["input_ids"] + [eos])
            for p, a in zip(prompts, answers, strict=True)
        ]
        results: list[tuple[float, int]] = []
        starts = range(0, len(items), self.batch_size)
        for start in tqdm(starts, desc=f"likelihood {self.name}", unit="batch", mininterval=5):
            batch = items[start : start + self.batch_size]
            logits = padded_logits(self.model, [p + a for p, a in batch], self.tokenizer.pad_token_id)
            for row, (prompt, answer) in enumerate(batch):
                # The logits at position t predict token t + 1: the answer's tokens are predicted from the
                # last prompt token on.
                predicting = logits[row, len(prompt) - 1 : len(prompt) + len(answer) - 1]
                targets = torch.tensor(answer, device=predicting.device)[:, None]
                logprobs = predicting.log_softmax(-1).gather(-1, targets)
                results.append((logprobs.mean().item(), len(answer)))
        return results

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        prompts = duels["prompt"].tolist()
        scored = self.answer_logprobs(prompts * 2, duels["answer_a"].tolist() + duels["answer_b"].tolist())
        verdicts = []
        for match_id, (score_a, tokens_a), (score_b, tokens_b) in zip(
            duels["match_id"], scored[: len(duels)], scored[len(duels) :], strict=True
        ):
            # A gap of 2 nats per token (each answer token ~7x likelier) gives a preference of tanh(1) = 0.76.
            preference = math.tanh((score_a - score_b) / 2)
            raw = json.dumps({"logprob_a": score_a, "tokens_a": tokens_a, "logprob_b": score_b, "tokens_b": tokens_b})
            verdicts.append(Verdict(match_id, "ab", score_a, score_b, preference, raw))
        return judgments_frame(verdicts, self.name, self.method)


def peer_judge(
    cfg: JudgeConfig,
    name: str,
    spec: ModelSpec,
    device: str,
    evaluator: str | None,
    backend: str = "hf",
    engine: Mapping | None = None,
) -> Judge:
    """Load ``spec`` once and wrap it as the judge of the configured mode; the modes that generate use
    ``backend``."""
    from agon.judging.reference import ReferenceJudge

    match cfg.mode:
        case "score":
            return ScoreJudge(name, make_generator(backend, spec, device, engine), cfg)
        case "reference":
            return ReferenceJudge(name, make_generator(backend, spec, device, engine), cfg, evaluator)
        case _:
            return LikelihoodJudge(name, *load_for_inference(spec, resolve_device(device)), cfg.batch_size)
