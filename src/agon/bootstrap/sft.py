"""Supervised fine-tuning of one embedded member with TRL's SFTTrainer (loss on the answer tokens only).

Each member gets its own seed (initialisation and data order) and its own bootstrap resample of the train
split, so members trained independently make different mistakes: checkpoints of one run share them, which
defeats peer judging (notes/tribe/CONSENSUS.md).
"""

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from transformers import AutoTokenizer
from trl import SFTConfig, SFTTrainer

from agon.bootstrap.model import TinyModelConfig, build_model
from agon.contracts import PROMPTS, read_table
from agon.files import atomic_directory, write_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemberSFTConfig:
    steps: int = 270
    batch_size: int = 128
    learning_rate: float = 2.0e-3
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1

    @classmethod
    def from_dict(cls, cfg: dict) -> "MemberSFTConfig":
        return cls(**{k: cfg[k] for k in ("steps", "batch_size", "learning_rate", "warmup_steps", "min_lr_ratio")})


def member_dataset(train_path: str | Path, seed: int) -> Dataset:
    """A bootstrap resample (with replacement, same size) of the train split, as prompt/completion chats."""
    train = read_table(train_path, PROMPTS)
    idx = np.random.default_rng(seed).integers(0, len(train), len(train))
    return Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": train["prompt"].iat[i]}] for i in idx],
            "completion": [[{"role": "assistant", "content": train["reference"].iat[i]}] for i in idx],
        }
    )


def train_member(
    train_path: str | Path,
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    model_cfg: TinyModelConfig,
    sft: MemberSFTConfig,
    *,
    seed: int,
    threads: int = 1,
) -> None:
    """Build a tiny model from ``seed``, fine-tune it, and save model + tokenizer as one directory."""
    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = build_model(model_cfg, tokenizer, seed)
    logger.info("member seed %d: %d parameters, %d SFT steps", seed, model.num_parameters(), sft.steps)
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
            activation_checkpointing=False,
            logging_steps=25,
            save_strategy="no",
            report_to=[],
            disable_tqdm=True,
            dataset_num_proc=None,
        )
        trainer = SFTTrainer(
            model=model, args=args, train_dataset=member_dataset(train_path, seed), processing_class=tokenizer
        )
        result = trainer.train()
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(
            {"seed": seed, "steps": sft.steps, "train_loss": result.training_loss, "log": trainer.state.log_history},
            tmp / "train_metrics.json",
        )
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
