"""Reward models as judges: a sequence classifier with one output scores each answer to its prompt on its own.

Any ``AutoModelForSequenceClassification`` with ``num_labels`` 1 will do (the reward models trained with TRL's
RewardTrainer, Skywork, ArmoRM, ...). The loading, batching and parameter checks here are shared with the
pairwise judge, which reads both answers with the same kind of model.
"""

import dataclasses
import json
import logging
import math
import string
from dataclasses import dataclass

import pandas as pd
import torch
from tqdm import tqdm
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from agon.judging.peer import padded_logits
from agon.judging.protocol import Verdict, judgments_frame
from agon.models import check_model_dir, resolve_device

logger = logging.getLogger(__name__)

# For a tokenizer without a chat template: the prompt, then the answer on its own line.
PLAIN_TEMPLATE = "{prompt}\n{answer}"
REWARD_FIELDS = ("prompt", "answer")


@dataclass(frozen=True)
class ClassifierConfig:
    """The params of a judge built on a one-output sequence classifier, as its judge entry gives them."""

    model: str  # local path or hub id
    template: str | None = None  # a Python format string; None: the judge's default
    batch_size: int = 16  # sequences per forward pass; reward models are 1-8B, so 16 x 512 tokens fits one GPU
    max_length: int = 512  # tokens per text; longer texts are truncated, and counted in the log
    trust_remote_code: bool = False

    @classmethod
    def from_params(cls, judge: str, params: dict, fields: tuple[str, ...]) -> "ClassifierConfig":
        """Check ``params`` up front, so a typo fails before minutes of model loading; ``fields`` are the
        placeholders a template must use. The caller's ``method`` key is allowed and ignored."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(params) - {*known, "method"})
        if unknown:
            raise ValueError(f"judge {judge}: unknown key(s) {unknown}; expected some of {known}")
        model = params.get("model")
        if not isinstance(model, str) or not model:
            raise ValueError(f"judge {judge}: 'model' must be given as a local path or hub id, got {model!r}")
        cfg = cls(**{key: value for key, value in params.items() if key in known})
        for key in ("batch_size", "max_length"):
            value = getattr(cfg, key)
            # bool is an int to Python, but `batch_size: true` is a typo, not a size.
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"judge {judge}: {key!r} must be an integer >= 1, got {value!r}")
        if not isinstance(cfg.trust_remote_code, bool):
            raise ValueError(f"judge {judge}: 'trust_remote_code' must be true or false, got {cfg.trust_remote_code!r}")
        if cfg.template is not None:
            _check_template(judge, cfg.template, fields)
        return cfg


def _check_template(judge: str, template: object, fields: tuple[str, ...]) -> None:
    """A template must use each of ``fields`` and nothing else: a missing answer would make every verdict a tie."""
    expected = ", ".join(f"{{{f}}}" for f in fields)
    if not isinstance(template, str):
        raise ValueError(f"judge {judge}: 'template' must be a format string using {expected}, got {template!r}")
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as err:
        raise ValueError(f"judge {judge}: 'template' {template!r} is not a valid format string: {err}") from err
    if used != set(fields):
        raise ValueError(f"judge {judge}: 'template' must use exactly {expected}; {template!r} uses {sorted(used)}")


def load_classifier(
    judge: str, cfg: ClassifierConfig, device: str, method: str
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a one-output sequence classifier and its tokenizer, in eval mode on ``device``.

    The files and the config are checked before any weights are read, so a wrong model fails in seconds.
    """
    check_model_dir(cfg.model, f"judge {judge}")
    config = AutoConfig.from_pretrained(cfg.model, trust_remote_code=cfg.trust_remote_code)
    if config.num_labels != 1:
        raise ValueError(
            f"judge {judge}: model {cfg.model} has num_labels {config.num_labels}; the {method} method needs a "
            "sequence classifier with a single output (num_labels 1)"
        )
    tokenizer = AutoTokenizer.from_pretrained(cfg.model, trust_remote_code=cfg.trust_remote_code)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(f"judge {judge}: tokenizer of {cfg.model} has neither a pad nor an eos token to pad with")
        tokenizer.pad_token = tokenizer.eos_token
    target = resolve_device(device)
    dtype = torch.bfloat16 if target.type == "cuda" else torch.float32
    model = AutoModelForSequenceClassification.from_pretrained(
        cfg.model, config=config, dtype=dtype, trust_remote_code=cfg.trust_remote_code, use_safetensors=True
    )
    # HF's *ForSequenceClassification reads the score at the last token that is not config.pad_token_id, so it must
    # be the id batches are padded with; composite (multimodal) configs read it from their text config.
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.get_text_config().pad_token_id = tokenizer.pad_token_id
    return model.to(target).eval(), tokenizer


def encode(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int, *, add_special_tokens: bool, judge: str
) -> list[list[int]]:
    """Token ids of ``texts``, truncated to ``max_length`` on the tokenizer's truncation side."""
    if not texts:
        # A fast tokenizer fails on an empty batch; a judge with no duel still writes its (empty) table.
        return []
    ids = tokenizer(texts, add_special_tokens=add_special_tokens)["input_ids"]
    too_long = sum(len(seq) > max_length for seq in ids)
    if too_long:
        logger.warning(
            "judge %s: %d of %d texts exceed max_length %d tokens and are cut on the %s",
            judge,
            too_long,
            len(texts),
            max_length,
            tokenizer.truncation_side,
        )
        ids = tokenizer(texts, add_special_tokens=add_special_tokens, truncation=True, max_length=max_length)[
            "input_ids"
        ]
    return ids


@torch.inference_mode()
def classifier_logits(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, sequences: list[list[int]], batch_size: int, desc: str
) -> list[float]:
    """The single logit of each sequence, in float32, from right-padded batches of ``batch_size``."""
    logits: list[float] = []
    for start in tqdm(range(0, len(sequences), batch_size), desc=desc, unit="batch", mininterval=5):
        batch = sequences[start : start + batch_size]
        logits.extend(padded_logits(model, batch, tokenizer.pad_token_id)[:, 0].tolist())
    return logits


class RewardModelJudge:
    """score_a, score_b = the rewards r_a, r_b of the two answers; preference = 2 sigmoid(r_a - r_b) - 1.

    The preference is the Bradley-Terry probability that A beats B, rescaled to -1..1. A reward model scores each
    answer alone, so the order answers are shown in cannot bias it: each duel gets a single "ab" row.
    """

    method = "reward_model"

    def __init__(
        self, name: str, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: ClassifierConfig
    ) -> None:
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.cfg = cfg
        # Reward models are trained on chat-formatted conversations: their template is the input they know.
        self.chat = cfg.template is None and tokenizer.chat_template is not None
        self.template = PLAIN_TEMPLATE if cfg.template is None else cfg.template
        logger.info(
            "judge %s: reward model input is %s",
            name,
            "the tokenizer's chat template" if self.chat else repr(self.template),
        )

    def text(self, prompt: str, answer: str) -> str:
        """What the reward model reads for ``answer`` to ``prompt``."""
        if self.chat:
            conversation = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
            return self.tokenizer.apply_chat_template(conversation, tokenize=False)
        return self.template.format(prompt=prompt, answer=answer)

    def rewards(self, pairs: list[tuple[str, str]]) -> list[float]:
        """The reward of each (prompt, answer)."""
        texts = [self.text(prompt, answer) for prompt, answer in pairs]
        # A chat template already holds any special tokens the model expects; a plain template gets the tokenizer's.
        ids = encode(self.tokenizer, texts, self.cfg.max_length, add_special_tokens=not self.chat, judge=self.name)
        return classifier_logits(self.model, self.tokenizer, ids, self.cfg.batch_size, f"reward_model {self.name}")

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        answers_a = list(zip(duels["prompt"], duels["answer_a"], strict=True))
        answers_b = list(zip(duels["prompt"], duels["answer_b"], strict=True))
        # Every answer fights several duels: score each (prompt, answer) once.
        distinct = list(dict.fromkeys(answers_a + answers_b))
        reward = dict(zip(distinct, self.rewards(distinct), strict=True))
        verdicts = []
        for match_id, a, b in zip(duels["match_id"], answers_a, answers_b, strict=True):
            r_a, r_b = reward[a], reward[b]
            raw = json.dumps({"reward_a": r_a, "reward_b": r_b})
            if not (math.isfinite(r_a) and math.isfinite(r_b)):
                verdicts.append(Verdict.invalid(match_id, "ab", raw, "the reward model gave a non-finite reward"))
                continue
            # 2 sigmoid(d) - 1 = tanh(d / 2): no exp to overflow for large gaps, no cancellation near 0.
            verdicts.append(Verdict(match_id, "ab", r_a, r_b, math.tanh((r_a - r_b) / 2), raw))
        return judgments_frame(verdicts, self.name, self.method)


def build_reward_model_judge(name: str, params: dict, *, device: str) -> RewardModelJudge:
    """Check the judge's ``params``, then load its reward model on ``device`` ("cpu", "cuda" or "auto")."""
    cfg = ClassifierConfig.from_params(name, params, REWARD_FIELDS)
    model, tokenizer = load_classifier(name, cfg, device, RewardModelJudge.method)
    return RewardModelJudge(name, model, tokenizer, cfg)
