"""How close Agon's generate job comes to its engine: against a bare script that calls the same engine on the same
requests, and, for the hf backend, against a naive loop that generates one answer at a time.

Usage: python benchmarks/generation.py [--backend hf|vllm] [--prompts 200] [--batch-size 256] [--samples 4]
                                       [--max-new-tokens 8] [--repeats 3] [--device cpu]
                                       [--models benchmarks/gpu_check_models]
(vllm: in the vllm environment, docs/vllm.md.)

Arms, each in a child process of its own, timed from after its imports to its last answer, the model's load
included (a job loads its model once), alternating arms for ``--repeats`` rounds:
  agon   agon.generation.generate_responses, what the generate job runs: read the prompts table, load the member,
         apply its chat template, answer in batches, write the generations table;
  bare   the engine alone: hf, AutoModelForCausalLM.generate on the same left-padded batches of ``--batch-size``
         prompts; vllm, LLM.generate on the same token ids with one SamplingParams;
  naive  (hf) one generate call per prompt and sample, as a loop written without batching would.
Every arm answers the same prompts with the same sampling (temperature 1, ``--samples`` answers each); answers
are sampled, so the arms are compared by tokens per second. The model is the GPU check's (a tiny Llama built on
CPU, reused if built).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the model builders are test helpers, outside the installed package
from benchmarks.multi_lora import build_population  # noqa: E402

ARMS = {"hf": ("agon", "bare", "naive"), "vllm": ("agon", "bare")}
ENGINE = {"enforce_eager": True, "dtype": "float32", "kv_cache_gib": 1}


def agon_arm(model: Path, prompts: list[str], job: dict) -> int:
    """The generate job's call; the tokens it generated."""
    import pandas as pd

    from agon.contracts import GENERATIONS, PROMPTS, read_table, write_table
    from agon.generation import SamplingConfig, generate_responses
    from agon.models import ModelSpec

    with tempfile.TemporaryDirectory() as tmp:
        table = pd.DataFrame(
            {
                "prompt_id": [f"p{k}" for k in range(len(prompts))],
                "prompt": prompts,
                "reference": [""] * len(prompts),
                "split": ["heldout"] * len(prompts),
            },
            columns=PROMPTS.columns,
        )
        write_table(table, Path(tmp) / "prompts.parquet", PROMPTS)
        generate_responses(
            {"m": Path(tmp) / "prompts.parquet"},
            Path(tmp) / "out.parquet",
            [ModelSpec(name="m", base=str(model))],
            SamplingConfig(
                max_new_tokens=job["max_new_tokens"], temperature=1.0, n=job["samples"], batch_size=job["batch"]
            ),
            backend=job["backend"],
            device=job["device"],
            seeds={"m": 0},
            engine=ENGINE,
        )
        return int(read_table(Path(tmp) / "out.parquet", GENERATIONS)["n_tokens"].sum())


def bare_hf(model_dir: Path, prompts: list[str], job: dict, batch: int) -> int:
    """transformers alone: ``batch`` prompts per generate call (1 with one sample per call: the naive loop)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(job["device"]).eval()
    texts = [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    per_call = job["samples"] if batch > 1 else 1
    tokens = 0
    torch.manual_seed(0)
    with torch.inference_mode():
        for start in range(0, len(texts), batch):
            chunk = texts[start : start + batch]
            inputs = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
            for _ in range(job["samples"] // per_call):
                out = model.generate(
                    **inputs.to(job["device"]),
                    do_sample=True,
                    temperature=1.0,
                    top_p=1.0,
                    top_k=0,
                    max_new_tokens=job["max_new_tokens"],
                    num_return_sequences=per_call,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                )
                new = out[:, inputs["input_ids"].shape[1] :].tolist()
                for row in new:
                    tokens += row.index(tokenizer.eos_token_id) if tokenizer.eos_token_id in row else len(row)
    return tokens


def bare_vllm(model_dir: Path, prompts: list[str], job: dict) -> int:
    """vLLM alone: one engine, one generate call on the chat-templated token ids."""
    from transformers import AutoTokenizer
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    texts = [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    llm = LLM(model=str(model_dir), dtype="float32", enforce_eager=True, seed=0)
    params = SamplingParams(n=job["samples"], temperature=1.0, max_tokens=job["max_new_tokens"])
    outputs = llm.generate([TokensPrompt(prompt_token_ids=list(x)) for x in ids], params)
    # An answer that stopped at the end-of-sequence token holds it; the generations table counts the tokens before.
    return sum(len(c.token_ids) - (c.finish_reason == "stop") for o in outputs for c in o.outputs)


def child(job: dict) -> dict:
    """One arm's run: imports first (not timed), then the work."""
    import os

    if job["device"] == "cpu":
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    import torch

    torch.set_num_threads(1)
    import transformers  # noqa: F401  (imported before the clock starts, as every arm needs it)

    if job["backend"] == "vllm":
        import vllm  # noqa: F401
    from agon.contracts import PROMPTS, read_table

    model = Path(job["models"]) / "model"
    prompts = read_table(Path(job["models"]) / "heldout.parquet", PROMPTS)["prompt"].tolist()[: job["prompts"]]
    start = time.perf_counter()
    match job["arm"], job["backend"]:
        case "agon", _:
            tokens = agon_arm(model, prompts, job)
        case "bare", "hf":
            tokens = bare_hf(model, prompts, job, batch=job["batch"])
        case "bare", "vllm":
            tokens = bare_vllm(model, prompts, job)
        case "naive", "hf":
            tokens = bare_hf(model, prompts, job, batch=1)
    return {"seconds": time.perf_counter() - start, "tokens": tokens}


def run_child(job: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(job)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=list(ARMS), default="hf")
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256, help="prompts per generate call (generation.batch_size)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=8, help="8: the embedded defaults' generation")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", type=Path, default=REPO / "benchmarks" / "gpu_check_models")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    build_population(args.models, 1)
    job = {
        "backend": args.backend,
        "device": args.device,
        "models": str(args.models),
        "prompts": args.prompts,
        "batch": args.batch_size,
        "samples": args.samples,
        "max_new_tokens": args.max_new_tokens,
    }
    runs: dict[str, list[dict]] = {arm: [] for arm in ARMS[args.backend]}
    for _ in range(args.repeats):
        for arm in runs:
            runs[arm].append(run_child({**job, "arm": arm}))
    rate = {arm: statistics.median(r["tokens"] / r["seconds"] for r in rs) for arm, rs in runs.items()}
    print(
        f"{args.backend} on {args.device}: {args.prompts} prompts x {args.samples} samples, at most "
        f"{args.max_new_tokens} new tokens, medians of {args.repeats}\n"
    )
    print("| arm | seconds | tokens | tokens/s | agon's tokens/s over this arm's |")
    print("| --- | --- | --- | --- | --- |")
    for arm, rs in runs.items():
        seconds = statistics.median(r["seconds"] for r in rs)
        tokens = statistics.median(r["tokens"] for r in rs)
        print(f"| {arm} | {seconds:.2f} | {tokens:.0f} | {rate[arm]:.0f} | {rate['agon'] / rate[arm]:.2f} |")


if __name__ == "__main__":
    main()
