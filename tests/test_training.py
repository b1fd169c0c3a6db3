import json

import pytest
import torch
from safetensors.torch import load_file

from agon.contracts import PAIRS, write_table
from agon.models import ModelSpec, load_for_inference
from agon.training import TrainConfig, train_adapter

from .testing_utils import TINY_TRAINING, pairs_frame

TINY = TrainConfig(**TINY_TRAINING)


@pytest.fixture(scope="module")
def first_adapter(tmp_path_factory, tiny_member):
    root = tmp_path_factory.mktemp("train")
    write_table(pairs_frame(8), root / "pairs.parquet", PAIRS)
    spec = ModelSpec(name="m", base=str(tiny_member))
    metrics = train_adapter(root / "pairs.parquet", root / "adapter0", spec, TINY, device="cpu", seed=0)
    return root, metrics


def test_dpo_trains_a_lora_adapter_with_nonzero_weights_and_metrics(first_adapter):
    root, metrics = first_adapter
    adapter = root / "adapter0"
    weights = load_file(adapter / "adapter_model.safetensors")
    lora_b = [w for name, w in weights.items() if "lora_B" in name]
    assert lora_b and any(w.abs().sum() > 0 for w in lora_b)  # B starts at zero: non-zero means it learned
    saved = json.loads((adapter / "train_metrics.json").read_text())
    assert saved["steps"] == 2 and saved["pairs"] == 8  # 8 pairs / batch 4, one epoch
    assert saved["reference"] == "fresh adapter (frozen copy, equal to the base)"
    assert any("rewards/margins" in row for row in saved["log"])
    assert saved == json.loads(json.dumps(metrics))
    assert not (adapter / "trainer").exists() and not (adapter / "ref").exists()


def test_adapter_changes_the_model_and_the_next_iteration_continues_it(first_adapter, tiny_member):
    root, _ = first_adapter
    spec = ModelSpec(name="m", base=str(tiny_member), adapter=str(root / "adapter0"))
    base, _ = load_for_inference(ModelSpec(name="m", base=str(tiny_member)), torch.device("cpu"))
    tuned, tokenizer = load_for_inference(spec, torch.device("cpu"))
    ids = tokenizer("<|user|>What is 3+2?<|end|><|assistant|>", return_tensors="pt", add_special_tokens=False)
    assert not torch.allclose(base(**ids).logits, tuned(**ids).logits)

    metrics = train_adapter(root / "pairs.parquet", root / "adapter1", spec, TINY, device="cpu", seed=1)
    assert metrics["reference"] == "previous adapter (frozen copy)"
    before = load_file(root / "adapter0" / "adapter_model.safetensors")
    after = load_file(root / "adapter1" / "adapter_model.safetensors")
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_no_pairs_carries_the_adapter_over_unchanged(first_adapter, tiny_member):
    root, _ = first_adapter
    write_table(pairs_frame(0), root / "empty.parquet", PAIRS)
    spec = ModelSpec(name="m", base=str(tiny_member), adapter=str(root / "adapter0"))
    metrics = train_adapter(root / "empty.parquet", root / "carried", spec, TINY, device="cpu", seed=0)
    assert metrics["steps"] == 0
    before = load_file(root / "adapter0" / "adapter_model.safetensors")
    after = load_file(root / "carried" / "adapter_model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)
