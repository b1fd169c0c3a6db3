"""Pairwise reward models as judges (PairRM-style): one classifier reads the prompt and both answers at once.

Seeing both answers lets the model compare them directly, which pointwise rewards cannot; the price is a
position bias, so every duel is judged in both orders.
"""

import json
import logging
import math

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from agon.judging.protocol import ORDERS, Verdict, in_order, judgments_frame
from agon.judging.reward_model import ClassifierConfig, classifier_logits, encode, load_classifier

logger = logging.getLogger(__name__)

PAIR_TEMPLATE = "Question: {prompt}\nAnswer A: {first}\nAnswer B: {second}"
PAIR_FIELDS = ("prompt", "first", "second")


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), arranged so that the exponential never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


class PairwiseJudge:
    """score_a, score_b = p(A is better), p(B is better) from one order; preference = score_a - score_b.

    The classifier's single logit is the log-odds that the first answer shown is the better one.
    """

    method = "pairwise"

    def __init__(
        self, name: str, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: ClassifierConfig
    ) -> None:
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.template = PAIR_TEMPLATE if cfg.template is None else cfg.template

    def first_logits(self, shown: list[tuple[str, str, str]]) -> list[float]:
        """The log-odds that the first answer is better, for each (prompt, first, second) as shown."""
        texts = [self.template.format(prompt=p, first=first, second=second) for p, first, second in shown]
        ids = encode(self.tokenizer, texts, self.cfg.max_length, add_special_tokens=True, judge=self.name)
        return classifier_logits(self.model, self.tokenizer, ids, self.cfg.batch_size, f"pairwise {self.name}")

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        shown = [(row, order) for row in duels.itertuples(index=False) for order in ORDERS]
        texts = [(row.prompt, *in_order(order, row.answer_a, row.answer_b)) for row, order in shown]
        logits = self.first_logits(texts)
        verdicts = []
        for (row, order), logit in zip(shown, logits, strict=True):
            raw = json.dumps({"logit": logit})
            if not math.isfinite(logit):
                verdicts.append(Verdict.invalid(row.match_id, order, raw, "the pairwise model gave a non-finite logit"))
                continue
            # sigmoid(-x) rather than 1 - sigmoid(x): exact even when the model is nearly certain.
            score_a, score_b = in_order(order, sigmoid(logit), sigmoid(-logit))
            verdicts.append(Verdict(row.match_id, order, score_a, score_b, score_a - score_b, raw))
        return judgments_frame(verdicts, self.name, self.method)


def build_pairwise_judge(name: str, params: dict, *, device: str) -> PairwiseJudge:
    """Check the judge's ``params``, then load its pairwise model on ``device`` ("cpu", "cuda" or "auto")."""
    cfg = ClassifierConfig.from_params(name, params, PAIR_FIELDS)
    model, tokenizer = load_classifier(name, cfg, device, PairwiseJudge.method)
    return PairwiseJudge(name, model, tokenizer, cfg)
