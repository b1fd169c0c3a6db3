import json

from agon.evaluation import EvalConfig, accuracy, evaluate_model
from agon.models import ModelSpec
from agon.tasks.arithmetic import is_correct


def test_accuracy_counts_every_sample():
    # 3 of 4 answers right: two prompts with two samples each
    assert accuracy([["2", "2"], ["4", "5"]], ["2", "4"], is_correct) == (0.75, 4)


def test_evaluation_writes_greedy_and_sampled_accuracy(tmp_path, micro_splits, tiny_member):
    out = tmp_path / "eval.json"
    cfg = EvalConfig(samples_per_prompt=2, temperature=1.0, max_new_tokens=6, batch_size=16)
    metrics = evaluate_model(
        micro_splits["heldout"],
        out,
        ModelSpec(name="m", base=str(tiny_member)),
        cfg,
        evaluator="integer",
        iteration=0,
        backend="hf",
        device="cpu",
        seed=0,
    )
    assert json.loads(out.read_text()) == metrics
    assert metrics["heldout_prompts"] == 20
    assert metrics["greedy_answers"] == 20 and metrics["sampled_answers"] == 40
    assert 0.0 <= metrics["greedy_accuracy"] <= 1.0 and 0.0 <= metrics["sampled_accuracy"] <= 1.0
