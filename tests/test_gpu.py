"""The model code on a CUDA device, where it loads in bfloat16 and trains in bf16: an adapter trained there learns,
and the adapted member answers there. Marked gpu: skipped without a CUDA device (conftest.py), run wherever torch
sees one."""

import pytest
import torch
from safetensors.torch import load_file

from agon.contracts import PAIRS, write_table
from agon.generation import SamplingConfig, make_generator
from agon.models import ModelSpec, load_for_inference
from agon.training import TrainConfig, train_adapter

from .testing_utils import TINY_TRAINING, pairs_frame

pytestmark = pytest.mark.gpu


def test_an_adapter_trained_on_cuda_learns_and_the_member_answers_with_it_on_cuda(tmp_path, tiny_member):
    write_table(pairs_frame(8), tmp_path / "pairs.parquet", PAIRS)
    spec = ModelSpec(name="m", base=str(tiny_member))
    metrics = train_adapter(
        tmp_path / "pairs.parquet", tmp_path / "adapter", spec, TrainConfig(**TINY_TRAINING), device="cuda", seed=0
    )
    assert metrics["steps"] == 2  # 8 pairs / batch 4, one epoch
    weights = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    lora_b = [w for name, w in weights.items() if "lora_B" in name]
    assert lora_b and any(w.abs().sum() > 0 for w in lora_b)  # B starts at zero: non-zero means it learned

    tuned = ModelSpec(name="m", base=str(tiny_member), adapter=str(tmp_path / "adapter"))
    model, _ = load_for_inference(tuned, torch.device("cuda"))
    assert {(p.device.type, p.dtype) for p in model.parameters()} == {("cuda", torch.bfloat16)}
    prompts = ["What is 1+2?", "What is 19-9?", "What is 7+7?"]
    answers = make_generator("hf", tuned, "cuda").generate(
        prompts, SamplingConfig(max_new_tokens=4, temperature=0.0), 0
    )
    assert len(answers) == len(prompts)
    for [completion] in answers:
        assert completion.n_tokens <= 4 and completion.finish_reason in {"stop", "length"}
