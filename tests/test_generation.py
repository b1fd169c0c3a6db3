import pandas as pd
import pytest
import torch

from agon.contracts import GENERATIONS, PROMPTS, read_table, write_table
from agon.generation import (
    SamplingConfig,
    gather_shards,
    generate_responses,
    make_generator,
    make_population_generator,
    shard_of,
)
from agon.generation.tokens import chat_text, to_completion
from agon.models import ModelSpec
from agon.seeding import derive_seed

SAMPLED = SamplingConfig(max_new_tokens=6, temperature=1.0, n=3, batch_size=8)
GREEDY = SamplingConfig(max_new_tokens=6, temperature=0.0, n=1, batch_size=8)


@pytest.fixture(scope="module")
def generator(tiny_member):
    return make_generator("hf", ModelSpec(name="m", base=str(tiny_member)), "cpu")


def test_generations_follow_the_contract_with_k_samples_per_prompt(tmp_path, micro_splits, tiny_member):
    out = tmp_path / "gen.parquet"
    generate_responses(
        {"m": micro_splits["heldout"]},
        out,
        [ModelSpec(name="m", base=str(tiny_member))],
        SAMPLED,
        backend="hf",
        device="cpu",
        seeds={"m": 5},
    )
    gen = read_table(out, GENERATIONS)
    prompts = read_table(micro_splits["heldout"], PROMPTS)
    assert len(gen) == 3 * len(prompts)
    assert all(sorted(samples) == [0, 1, 2] for samples in gen.groupby("prompt_id")["sample"].apply(list))
    assert set(gen["model"]) == {"m"} and set(gen["backend"]) == {"hf"} and set(gen["seed"]) == {5}
    assert set(gen["finish_reason"]) <= {"stop", "length"}
    assert (gen["n_tokens"] <= 6).all()


def test_same_seed_same_samples_other_seed_other_samples(generator):
    prompts = [f"What is {a}+3?" for a in range(10)]
    first = generator.generate(prompts, SAMPLED, seed=1)
    assert generator.generate(prompts, SAMPLED, seed=1) == first
    assert generator.generate(prompts, SAMPLED, seed=2) != first


def test_samples_from_a_prompt_computed_once_are_transformers_own_samples(generator):
    # The hf backend runs each prompt once for its n answers; transformers' num_return_sequences runs it n times.
    # Prompts of different lengths, so that the shared prefix is left-padded too.
    prompts = ["What is 1+2?", "What is 19-9?", "What is 7+7?", "What is 10-13?"]
    sampling = SamplingConfig(max_new_tokens=6, temperature=1.0, n=4, batch_size=8)
    ours = generator.generate(prompts, sampling, seed=3)
    tokenizer, eos = generator.tokenizer, generator.tokenizer.eos_token_id
    batch = tokenizer(
        [chat_text(tokenizer, p) for p in prompts], return_tensors="pt", padding=True, add_special_tokens=False
    )
    torch.manual_seed(derive_seed(3, "batch", 0))
    with torch.inference_mode():
        out = generator.model.generate(
            **batch,
            do_sample=True,
            temperature=1.0,
            top_p=1.0,
            top_k=0,
            max_new_tokens=6,
            num_return_sequences=4,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=eos,
        )
    theirs = [to_completion(tokenizer, row.tolist(), eos) for row in out[:, batch["input_ids"].shape[1] :]]
    assert [c for answers in ours for c in answers] == theirs
    assert len({c.text for c in theirs}) > len(prompts)  # sampled: a prompt's answers are not all alike


def test_batched_left_padded_greedy_equals_one_prompt_at_a_time(generator):
    # prompts of different lengths in one batch: padding on the wrong side would change the answers
    prompts = ["What is 1+2?", "What is 19-9?", "What is 7+7?", "What is 10-3?"]
    batched = generator.generate(prompts, GREEDY, seed=0)
    alone = [generator.generate([p], GREEDY, seed=0)[0] for p in prompts]
    assert batched == alone


def test_a_cut_off_answer_is_reported_as_length(generator):
    [[completion]] = generator.generate(["What is 1+2?"], SamplingConfig(max_new_tokens=1, temperature=0.0), 0)
    assert completion.n_tokens == 1
    assert completion.finish_reason in {"length", "stop"}
    if completion.finish_reason == "stop":
        assert completion.text == ""


def test_shards_partition_the_prompts_and_gather_in_order(tmp_path, micro_splits, tiny_member):
    prompts = read_table(micro_splits["heldout"], PROMPTS)
    shards = [shard_of(prompts, k, 3) for k in range(3)]
    assert sorted(pd.concat(shards)["prompt_id"]) == sorted(prompts["prompt_id"])
    paths = []
    for k in range(3):
        paths.append(tmp_path / f"{k}.parquet")
        generate_responses(
            {"m": micro_splits["heldout"]},
            paths[-1],
            [ModelSpec(name="m", base=str(tiny_member))],
            GREEDY,
            backend="hf",
            device="cpu",
            seeds={"m": k},
            shard=k,
            shards=3,
        )
    gather_shards(paths, tmp_path / "all.parquet")
    gathered = read_table(tmp_path / "all.parquet", GENERATIONS)
    assert gathered["prompt_id"].tolist() == pd.concat(shards)["prompt_id"].tolist()
    with pytest.raises(ValueError, match=r"shard 3 is outside 0..2"):
        shard_of(prompts, 3, 3)


def test_unknown_backend_is_a_config_error(tiny_member):
    with pytest.raises(ValueError, match=r"generation.backend': unknown backend 'tgi'"):
        make_generator("tgi", ModelSpec(name="m", base=str(tiny_member)), "cpu")


def test_gathering_keeps_only_the_asked_members_rows(tmp_path, micro_splits):
    # a vLLM engine answers every member on its base in one job; each member's table takes its own rows
    rows = pd.DataFrame(
        [
            {
                "prompt_id": f"p{k}",
                "prompt": "q",
                "model": model,
                "sample": 0,
                "response": "1",
                "n_tokens": 1,
                "finish_reason": "stop",
                "seed": 0,
                "backend": "vllm",
                "adapter": "",
            }
            for k in range(3)
            for model in ("a", "b")
        ]
    )
    write_table(rows, tmp_path / "0.parquet", GENERATIONS)
    gather_shards([tmp_path / "0.parquet"], tmp_path / "b.parquet", model="b")
    gathered = read_table(tmp_path / "b.parquet", GENERATIONS)
    assert gathered["model"].tolist() == ["b"] * 3 and gathered["prompt_id"].tolist() == ["p0", "p1", "p2"]


def test_an_hf_generator_refuses_a_member_it_does_not_hold(generator):
    with pytest.raises(ValueError, match=r"holds member 'm', not \['other'\]"):
        generator.generate_population({"other": ["What is 1+2?"]}, GREEDY, {"other": 0})


def test_the_hf_backend_takes_one_member_per_job(tiny_member):
    specs = [ModelSpec(name=n, base=str(tiny_member)) for n in ("a", "b")]
    with pytest.raises(ValueError, match=r"one member at a time, not \['a', 'b'\]"):
        make_population_generator("hf", specs, "cpu")
