"""Reference-guided peer judging: the judge solves the prompt itself, greedily, and backs the answer that matches.

Why this mode exists (issue 4, docs/ablation.md): a judge that scores answers by its own likelihood must pick a
winner even when both answers are wrong, so a third of its pairs taught a wrong answer. A judge that first
answers can say "neither": it prefers A (+1) when only A matches its own answer, B (-1) when only B does,
and 0 when neither or both do. With `pairs.margin` near 1 a pair needs every judge outside the duel to back
the same answer; on the embedded task, judges of independently trained members that agree greedily were
right on 99% of the pairs they made (greedy answers beat few T=1 samples: sampled accuracy is 10-15 points
lower than greedy).
"""

import logging
from collections.abc import Mapping

import pandas as pd

from agon.generation import Generator, SamplingConfig
from agon.judging.protocol import JudgeConfig, Verdict, judgments_frame
from agon.tasks import answer_extractor

logger = logging.getLogger(__name__)


def reference_verdict(match_id: str, own: str, answer_a: str, answer_b: str, extract) -> Verdict:
    """The verdict of a judge whose own answer is ``own``; invalid when ``own`` holds no answer of the task."""
    reference = extract(own)
    if reference is None:
        return Verdict.invalid(match_id, "ab", own, "the judge's own answer holds no answer of the task")
    score_a = float(extract(answer_a) == reference)
    score_b = float(extract(answer_b) == reference)
    return Verdict(match_id, "ab", score_a, score_b, score_a - score_b, own)


def reference_prompts(duels: pd.DataFrame) -> list[str]:
    """The prompts a reference judge answers for ``duels`` (or their matches): each once, in order of appearance.

    The infer job answers exactly these, in this order and batch size, so its answers equal the judge's own.
    """
    return duels["prompt"].drop_duplicates().tolist()


def reference_judgments(duels: pd.DataFrame, own: Mapping[str, str], name: str, evaluator: str) -> pd.DataFrame:
    """The judgments of a judge whose own answer to each prompt is ``own[prompt]``."""
    extract = answer_extractor(evaluator)
    verdicts = [
        reference_verdict(row.match_id, own[row.prompt], row.answer_a, row.answer_b, extract)
        for row in duels.itertuples(index=False)
    ]
    decided = sum(v.preference not in (None, 0.0) for v in verdicts)
    logger.info("judge %s: backs one answer in %d of %d duels", name, decided, len(verdicts))
    return judgments_frame(verdicts, name, ReferenceJudge.method)


def reference_sampling(cfg: JudgeConfig) -> SamplingConfig:
    """How a reference judge answers: greedily, with the judging settings."""
    return SamplingConfig(max_new_tokens=cfg.max_new_tokens, temperature=0.0, batch_size=cfg.batch_size)


class ReferenceJudge:
    """Answers each prompt greedily, then backs the duel answer that matches its own (or neither)."""

    method = "peer"

    def __init__(self, name: str, generator: Generator, cfg: JudgeConfig, evaluator: str) -> None:
        self.name = name
        self.generator = generator
        self.evaluator = evaluator
        self.sampling = reference_sampling(cfg)

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        prompts = reference_prompts(duels)
        # Greedy decoding ignores the seed.
        own = {p: c[0].text for p, c in zip(prompts, self.generator.generate(prompts, self.sampling, 0), strict=True)}
        return reference_judgments(duels, own, self.name, self.evaluator)
