"""Population generation with one multi-LoRA vLLM engine against one engine per model (the SPARTA approach).

Usage (in the vllm environment, docs/vllm.md):
    python benchmarks/multi_lora.py [--members 4] [--prompts 128] [--samples 4] [--max-new-tokens 32]
                                    [--device cpu] [--out benchmarks/results/multi_lora_cpu.json]
                                    [--population DIR]

The population is ``--members`` LoRA variants of one base model (random adapters on a tiny Llama with head_dim
64, built here, offline). Both arms answer the same requests: every member answers the same ``--prompts``
prompts with ``--samples`` samples each, temperature 1.

* multi-LoRA: one engine holds the base and every adapter; one generate call, one adapter per request.
* engine per model: for each member its adapter is merged into a full model directory, and an engine is started
  for it alone, answers its requests and is shut down, one member after another, as SPARTA serves its models.

Each engine runs in its own child process (vLLM engines do not release their memory reliably within one
process); the child times the engine start and the generate call, and this script adds the wall time of each
arm and writes the ratio. enforce_eager on CPU so that start-up is comparable; on GPU the default (CUDA graphs).
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agon.bootstrap.model import TinyModelConfig
from agon.bootstrap.sft import MemberSFTConfig
from agon.contracts import PROMPTS, read_table
from agon.tasks import write_splits

REPO = Path(__file__).resolve().parent.parent
# The population builders are test helpers, outside the installed package: import them from the checkout.
sys.path.insert(0, str(REPO))
from tests.testing_utils import build_standalone_member, random_adapter  # noqa: E402

TASK = {
    "name": "arithmetic",
    "heldout_size": 256,
    "preference_size": 256,
    "prompts_per_iteration": 256,
    "arithmetic": {"max_a": 99, "max_b": 99, "operations": ["+", "-", "*"]},
}


def build_population(root: Path, members: int) -> tuple[Path, list[Path], Path]:
    """A tiny base model, ``members`` random LoRA adapters on it, and held-out prompts, built in ``root`` once: a
    folder that holds them already (``--population``, benchmarks/gpu_check.py prepare) is reused."""
    base, heldout = root / "model", root / "heldout.parquet"
    adapters = [root / f"adapter_{k}" for k in range(members)]
    if (root / "ready").exists():
        missing = [str(path) for path in (base, heldout, *adapters) if not path.exists()]
        if missing:
            raise FileNotFoundError(f"{root} was built for fewer members: missing {missing}")
        return base, adapters, heldout
    root.mkdir(parents=True, exist_ok=True)
    paths = {split: str(root / f"{split}.parquet") for split in ("train", "preference", "heldout")}
    write_splits(TASK, 0, paths)
    build_standalone_member(
        paths["train"],
        root,
        TinyModelConfig(hidden_size=256, intermediate_size=1024, layers=4, heads=4, max_positions=128),
        MemberSFTConfig(steps=30, batch_size=32, learning_rate=5.0e-3, warmup_steps=2, target_accuracy=None),
        vocab_size=256,
        seed=1,
    )
    for k, adapter in enumerate(adapters):
        random_adapter(base, adapter, rank=8, seed=k, scale=0.05)
    (root / "ready").write_text(f"{members} adapters\n")
    return base, adapters, heldout


def merged(base: Path, adapter: Path, out: Path) -> Path:
    """The member as a full model directory, as an engine-per-model pipeline loads it."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter).merge_and_unload().save_pretrained(
        out
    )
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


def child(job: dict) -> dict:
    """One engine: start it, answer every member's prompts in one call, report the times."""
    from agon.generation import SamplingConfig, make_population_generator
    from agon.models import ModelSpec

    prompts = read_table(job["prompts"], PROMPTS)["prompt"].tolist()[: job["n_prompts"]]
    specs = [ModelSpec(**spec) for spec in job["specs"]]
    sampling = SamplingConfig(max_new_tokens=job["max_new_tokens"], temperature=1.0, n=job["samples"])
    start = time.perf_counter()
    engine = make_population_generator("vllm", specs, job["device"], job["engine"])
    started = time.perf_counter()
    answers = engine.generate_population(
        {s.name: prompts for s in specs}, sampling, {s.name: k for k, s in enumerate(specs)}
    )
    done = time.perf_counter()
    tokens = sum(c.n_tokens for rows in answers.values() for samples in rows for c in samples)
    return {"start_s": started - start, "generate_s": done - started, "tokens": tokens}


def run_child(job: dict) -> dict:
    begin = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(job)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "wall_s": time.perf_counter() - begin}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=128)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/multi_lora_cpu.json"))
    parser.add_argument("--population", type=Path, help="a folder with the models built already (or to build them in)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    engine = {"enforce_eager": True, "dtype": "float32", "kv_cache_gib": 2} if args.device == "cpu" else {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base, adapters, prompts = build_population(args.population or root / "population", args.members)
        job = {
            "prompts": str(prompts),
            "n_prompts": args.prompts,
            "samples": args.samples,
            "max_new_tokens": args.max_new_tokens,
            "device": args.device,
            "engine": engine,
        }
        multi = run_child({**job, "specs": [{"name": a.name, "base": str(base), "adapter": str(a)} for a in adapters]})
        per_model = [
            run_child({**job, "specs": [{"name": a.name, "base": str(merged(base, a, root / f"merged_{a.name}"))}]})
            for a in adapters
        ]
    separate = {key: sum(r[key] for r in per_model) for key in ("start_s", "generate_s", "wall_s", "tokens")}
    result = {
        "machine": platform.processor() or platform.machine(),
        "device": args.device,
        "members": args.members,
        "requests": args.members * args.prompts,
        "samples": args.samples,
        "max_new_tokens": args.max_new_tokens,
        "multi_lora": multi,
        "engine_per_model": separate,
        "ratio_wall": separate["wall_s"] / multi["wall_s"],
        "ratio_generate": separate["generate_s"] / multi["generate_s"],
        "throughput_tokens_per_s": {
            "multi_lora": multi["tokens"] / multi["generate_s"],
            "engine_per_model": separate["tokens"] / separate["generate_s"],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
