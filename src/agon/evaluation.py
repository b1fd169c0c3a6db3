"""The evaluate stage: held-out accuracy of one model, greedy and sampled, with the task's own evaluator; and each
model's win rate against its iteration-0 self, its greedy held-out answers judged against the base's.

Accuracy needs answers a checker can score. The win rate against the base (DESIGN's "win rate vs base") needs only
a judge, so it measures free-form tasks too: every held-out prompt is one duel, the model's answer (A) against its
iteration-0 self's (B), put before the evaluation judge's jurors in the judge stage's own code. An answer equal to
the base's is a tie without a verdict (LoRA starts at the base, so early on most are). The jurors of a member judge
are the other members as they were at iteration 0: the same panel for every iteration, which did not train on the
pairs it would be judging the effect of.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from agon.contracts import (
    GENERATIONS,
    JUDGMENTS,
    MATCHES,
    PROMPTS,
    WIN_RATE_VS_BASE,
    read_table,
    write_document,
    write_table,
)
from agon.files import write_json
from agon.generation import make_generator
from agon.inference import InferenceAnswers, answer_heldout
from agon.judging import JudgeConfig, duels_frame, make_external_judge, make_judge
from agon.judging.protocol import Judge
from agon.models import ModelSpec
from agon.names import MEMBER_METHODS
from agon.plan import DECODINGS, checkpoint_name, member_of
from agon.ratings.verdicts import duel_verdicts
from agon.ratings.win_rate import wilson_interval
from agon.tasks import checker

logger = logging.getLogger(__name__)

# Coverage of the Wilson interval around a win rate against the base (the rating scheme win_rate's default too).
CI = 0.95


@dataclass(frozen=True)
class EvalConfig:
    samples_per_prompt: int = 4
    temperature: float = 1.0
    max_new_tokens: int = 8
    batch_size: int = 256

    @classmethod
    def from_dict(cls, cfg: dict) -> "EvalConfig":
        return cls(**{k: cfg[k] for k in ("samples_per_prompt", "temperature", "max_new_tokens", "batch_size")})


def accuracy(responses: list[list[str]], references: list[str], is_correct) -> tuple[float | None, int]:
    """Share of correct answers over all samples of all prompts, and the number of answers; the share is None
    for a task whose answers nothing can check (``is_correct`` None)."""
    answers = sum(map(len, responses))
    if is_correct is None:
        return None, answers
    scored = [is_correct(r, ref) for samples, ref in zip(responses, references, strict=True) for r in samples]
    return float(np.mean(scored)) if scored else float("nan"), answers


def evaluate_model(
    heldout_path: str | Path,
    out_path: str | Path,
    spec: ModelSpec,
    cfg: EvalConfig,
    *,
    evaluator: str | None,
    iteration: int,
    backend: str,
    device: str,
    seed: int,
    engine: Mapping | None = None,
    threads: int = 1,
    answers_path: str | Path | None = None,
    inference: Mapping[str, str | Path] | None = None,
) -> dict:
    """Write ``{greedy_accuracy, sampled_accuracy, ...}`` of ``spec`` on the held-out prompts as JSON, and with
    ``answers_path`` the greedy answers as a generations table, for the win rate against the base.

    With ``inference`` (an infer job's files) the answers come from there when that job made them with these
    settings; otherwise the model is loaded here.
    """
    heldout = read_table(heldout_path, PROMPTS)
    answers = InferenceAnswers(inference).heldout(spec.name, cfg, seed, backend) if inference else None
    if answers is None:
        import torch

        torch.set_num_threads(threads)
        answers = answer_heldout(make_generator(backend, spec, device, engine), spec, heldout, cfg, seed)
    is_correct = checker(evaluator) if evaluator else None
    metrics: dict[str, object] = {
        "model": spec.name,
        "adapter": spec.adapter,
        "iteration": iteration,
        "evaluator": evaluator,
        "heldout_prompts": len(heldout),
        "samples_per_prompt": cfg.samples_per_prompt,
        "temperature": cfg.temperature,
        "seed": seed,
        "backend": backend,
    }
    if answers_path is not None:
        write_table(answers["greedy"], answers_path, GENERATIONS)
    for label in DECODINGS:
        by_prompt = answers[label].groupby("prompt_id", sort=False)["response"].agg(list)
        acc, n = accuracy(by_prompt.loc[heldout["prompt_id"]].tolist(), heldout["reference"].tolist(), is_correct)
        metrics[f"{label}_accuracy"] = acc
        metrics[f"{label}_answers"] = n
        shown = "unchecked" if acc is None else f"{acc:.3f}"
        logger.info("%s: %s accuracy %s over %d answers", spec.name, label, shown, n)
    write_json(metrics, out_path)
    return metrics


# --- win rate against the iteration-0 self ----------------------------------------------------------------------


def base_name(model: str) -> str:
    """A model's iteration-0 self in the duels, named apart from the model (a member's name holds no '@')."""
    return checkpoint_name(model, 0)


def win_rate(d: Sequence[float], ci: float = CI) -> dict:
    """Wins (d > 0), ties (d = 0) and losses (d < 0) of duels folded into ``d`` in [-1, 1] (NaN: no valid verdict,
    undecided); the win rate, a tie counting half a win, and its Wilson interval at coverage ``ci``, or None when
    no duel was decided."""
    d = np.asarray(d, dtype=float)
    decided = d[~np.isnan(d)]
    wins, ties, losses = (int(n) for n in ((decided > 0).sum(), (decided == 0).sum(), (decided < 0).sum()))
    n, score = len(decided), wins + ties / 2
    low, high = wilson_interval(score, n, NormalDist().inv_cdf((1 + ci) / 2)) if n else (None, None)
    if n:  # exactly 0 or 1 at 0% or 100% wins, where rounding could step outside
        low, high = max(0.0, low), min(1.0, high)
    return {
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "undecided": len(d) - n,
        "win_rate": score / n if n else None,
        "ci_low": low,
        "ci_high": high,
        "ci": ci,
    }


def vs_base_matches(heldout: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """One duel per model and held-out prompt, the model (A) against its iteration-0 self (B), in the matches
    contract."""
    prompts = heldout[["prompt_id", "prompt", "reference"]].to_dict("records")
    rows = [
        {**p, "match_id": f"{model}/{p['prompt_id']}", "round": 0, "model_a": model, "model_b": base_name(model)}
        for model in models
        for p in prompts
    ]
    return pd.DataFrame(rows, columns=MATCHES.columns)


@dataclass(frozen=True)
class Panel:
    """The jurors of a judge picked after the run (evaluation.judge, tournament.judge), built by the judge stage's
    own code: ``jurors`` maps who casts the verdicts to the model spec it judges with, every member (as at
    iteration 0) for a member judge, the judge itself with None otherwise."""

    judge: str
    jurors: Mapping[str, dict | None]
    judging: Mapping
    external: Mapping | None  # the judge's judging.external entry, for an external judge
    evaluator: str | None
    device: str
    generation: Mapping
    cache_dir: str | Path | None = None
    # The config key that named the judge, for messages.
    key: str = "evaluation.judge"

    def build(self, juror: str) -> Judge:
        """The judge cast by ``juror``: a member, the verifier or the external judge."""
        if self.judge in (*MEMBER_METHODS, "verifier"):
            spec = self.jurors[juror]
            return make_judge(
                JudgeConfig.from_dict({**self.judging, "method": self.judge}),
                juror,
                evaluator=self.evaluator,
                spec=None if spec is None else ModelSpec.from_dict(spec),
                device=self.device,
                backend=self.generation["backend"],
                engine=self.generation["vllm"],
            )
        if self.external is None:
            raise ValueError(f"config key {self.key!r}: {self.judge!r} is not a judge of judging.external")
        return make_external_judge(self.judge, self.external, device=self.device, cache_dir=self.cache_dir)

    def judge_duels(self, duels: pd.DataFrame) -> pd.DataFrame:
        """Every juror's verdicts (judgments contract) on the ``duels`` (``DUEL_COLUMNS``) it may judge.

        A member never judges a duel of its own, whichever of its checkpoints fights it (its verdict would not
        count, agon.ratings.verdicts). Jurors are built one after another, each only if it has a duel to judge.
        """
        members_a, members_b = duels["model_a"].map(member_of), duels["model_b"].map(member_of)
        tables = []
        for juror in self.jurors:
            todo = duels[(members_a != juror) & (members_b != juror)]
            logger.info("juror %s (%s) judges %d duels", juror, self.judge, len(todo))
            if todo.empty:
                continue
            built = self.build(juror)
            tables.append(built.judge(todo))
            del built  # one juror's model in memory at a time
        return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=JUDGMENTS.columns)

    def play(self, matches: pd.DataFrame, duels: pd.DataFrame, judgments_path: str | Path) -> pd.DataFrame:
        """Judge the ``duels`` (of ``matches``, same order) whose answers differ, write every verdict to
        ``judgments_path``, and return each duel's folded verdict (``duel_verdicts``, jurors weighed equally) with
        ``identical``: a duel of equal answers is a tie that no juror was asked about."""
        identical = (duels["answer_a"] == duels["answer_b"]).to_numpy()
        judgments = self.judge_duels(duels[~identical])
        write_table(judgments, judgments_path, JUDGMENTS)
        verdicts = duel_verdicts(matches, judgments, weights={})
        return verdicts.assign(d=verdicts["d"].mask(identical, 0.0), identical=identical)


def write_win_rates_vs_base(
    heldout_path: str | Path,
    answer_paths: Mapping[str, str | Path],
    base_paths: Mapping[str, str | Path],
    out_paths: Mapping[str, str | Path],
    judgments_path: str | Path,
    *,
    iteration: int,
    panel: Panel,
    threads: int = 1,
) -> dict[str, dict]:
    """Each model's win rate against its iteration-0 self (``out_paths``, keyed like ``answer_paths`` and
    ``base_paths`` by model) and every verdict (``judgments_path``), judged by ``panel``: a member never judges its
    own model's duels.
    """
    import torch

    torch.set_num_threads(threads)
    heldout = read_table(heldout_path, PROMPTS)
    models = list(answer_paths)
    matches = vs_base_matches(heldout, models)
    answers = [read_table(answer_paths[m], GENERATIONS) for m in models]
    bases = [read_table(base_paths[m], GENERATIONS).assign(model=base_name(m)) for m in models]
    duels = duels_frame(matches, pd.concat([*answers, *bases], ignore_index=True))
    verdicts = panel.play(matches, duels, judgments_path)
    identical = verdicts["identical"].to_numpy()
    documents = {}
    for model in models:
        own = (verdicts["model_a"] == model).to_numpy()
        document = {
            "model": model,
            "iteration": iteration,
            "judge": panel.judge,
            "jurors": [j for j in panel.jurors if j != model],
            "prompts": int(own.sum()),
            "identical": int((identical & own).sum()),
            "judged": int((~identical & own).sum()),
            **win_rate(verdicts["d"][own]),
        }
        write_document(document, out_paths[model], WIN_RATE_VS_BASE)
        documents[model] = document
        shown = "none decided" if document["win_rate"] is None else f"{document['win_rate']:.3f}"
        logger.info(
            "%s at iteration %d against its iteration-0 self: win rate %s (%d wins, %d ties, %d losses, %d undecided)",
            model,
            iteration,
            shown,
            document["wins"],
            document["ties"],
            document["losses"],
            document["undecided"],
        )
    return documents
