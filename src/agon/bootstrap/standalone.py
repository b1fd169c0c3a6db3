"""One tiny member built from a task's training split alone: its own tokenizer and a short SFT.

The workflow builds the embedded population in steps (a shared tokenizer, then one job per member); tests and
benchmarks that need a real model directory, with no workflow around it, build it here in one call.
"""

from pathlib import Path

from agon.bootstrap.model import TinyModelConfig
from agon.bootstrap.sft import MemberSFTConfig, train_member
from agon.bootstrap.tokenizer import build_tokenizer
from agon.contracts import PROMPTS, read_table


def build_standalone_member(
    train_path: str | Path,
    root: str | Path,
    model_cfg: TinyModelConfig,
    sft: MemberSFTConfig,
    *,
    vocab_size: int,
    seed: int,
) -> Path:
    """Train a tokenizer on the split's prompts and answers, then the member; return the model directory."""
    root = Path(root)
    train = read_table(train_path, PROMPTS)
    texts = (f"{p} {r}" for p, r in zip(train.prompt, train.reference, strict=True))
    build_tokenizer(texts, vocab_size, root / "tok")
    train_member(train_path, root / "tok", root / "model", model_cfg, sft, seed=seed)
    return root / "model"
