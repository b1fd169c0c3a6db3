"""LoRA variants of one base model: a population for multi-adapter engines before any training has run.

peft starts lora_B at zero, which leaves a fresh adapter's answers equal to the base's; drawing it at random
makes every variant answer differently, which is what a test of adapter routing or a benchmark of
multi-adapter serving needs.
"""

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def random_adapter(base: str | Path, out_dir: str | Path, *, rank: int, seed: int, scale: float = 1.0) -> None:
    """Save a LoRA adapter on every linear layer of ``base`` with lora_B drawn from N(0, scale^2)."""
    torch.manual_seed(seed)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base, trust_remote_code=False, use_safetensors=True),
        LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear"),
    )
    for name, param in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=scale)
    model.save_pretrained(out_dir)
