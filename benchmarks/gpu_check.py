"""The steps of benchmarks/gpu_check.sh that are not a test run: build the check's models, one LoRA DPO step, one
generate job, and the Markdown table of all steps.

Usage (the shell script calls these; each step writes <out>/<step>.json):
    python benchmarks/gpu_check.py prepare MODELS [--members 4]
    python benchmarks/gpu_check.py dpo MODELS OUT --device cuda
    python benchmarks/gpu_check.py multi_lora MODELS OUT --device cuda --members 4 [multi_lora.py's sizes]
    python benchmarks/gpu_check.py generate MODELS OUT --device cuda --backend vllm [--prompts 256]
    python benchmarks/gpu_check.py report OUT

MODELS holds a tiny base model (head_dim 64, a size vLLM's kernels take), LoRA adapters on it and held-out
prompts: built on CPU (``prepare``, about a minute) and copied to the GPU machine with the checkout, so that the
GPU's minutes go to the checks alone.
"""

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the model builders are test helpers, outside the installed package
from benchmarks.multi_lora import build_population  # noqa: E402
from tests.testing_utils import TINY_TRAINING, pairs_frame  # noqa: E402

if TYPE_CHECKING:
    from agon.models import ModelSpec

STEPS = ("prepare", "parity", "dpo", "multi_lora", "generate")


def prepare(models: Path, members: int) -> None:
    """Build the base, ``members`` adapters and the prompts into ``models`` unless they are there already; its last
    line (the check's figure for this step) says which."""
    reused = (models / "ready").exists()
    build_population(models, members)
    adapters = f"{members} adapter{'s' if members != 1 else ''}"
    print(f"{'reused' if reused else 'built'}: the base model and {adapters} in {models}")


def base_spec(models: Path) -> "ModelSpec":
    """The check's base model as a member."""
    from agon.models import ModelSpec

    return ModelSpec(name="base", base=str(models / "model"))


def dpo_step(models: Path, out: Path, device: str) -> dict:
    """One LoRA DPO+NLL step on eight pairs: on CUDA the model loads and trains in bf16 (agon.training)."""
    from agon.contracts import PAIRS, write_table
    from agon.training import TrainConfig, train_adapter

    work = out / "dpo"
    write_table(pairs_frame(4), work / "pairs.parquet", PAIRS)
    start = time.perf_counter()
    metrics = train_adapter(
        work / "pairs.parquet", work / "adapter", base_spec(models), TrainConfig(**TINY_TRAINING), device=device, seed=0
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "figure": f"{metrics['steps']} step, loss {metrics.get('train_loss', float('nan')):.4f}",
    }


def generate_job(models: Path, out: Path, device: str, backend: str, prompts: int) -> dict:
    """What one generate job runs, timed from its call to the written table: tokens per second of that call."""
    from agon.contracts import GENERATIONS, PROMPTS, read_table, write_table
    from agon.generation import SamplingConfig, generate_responses

    table = read_table(models / "heldout.parquet", PROMPTS).head(prompts)
    write_table(table, out / "prompts.parquet", PROMPTS)
    engine = {"enforce_eager": True, "dtype": "float32", "kv_cache_gib": 1} if device == "cpu" else {}
    start = time.perf_counter()
    generate_responses(
        {"base": out / "prompts.parquet"},
        out / "generations.parquet",
        [base_spec(models)],
        SamplingConfig(max_new_tokens=32, temperature=1.0, n=4, batch_size=256),
        backend=backend,
        device=device,
        seeds={"base": 0},
        engine=engine,
    )
    seconds = time.perf_counter() - start
    tokens = int(read_table(out / "generations.parquet", GENERATIONS)["n_tokens"].sum())
    return {
        "seconds": seconds,
        "figure": f"{tokens} tokens, {tokens / seconds:.0f} tokens/s over the whole call, engine start included "
        f"({backend}, {len(table)} prompts x 4 samples)",
    }


def multi_lora(models: Path, out: Path, device: str, members: int, sizes: list[str]) -> dict:
    """benchmarks/multi_lora.py on the check's models: one multi-LoRA engine against one engine per member."""
    result = out / "multi_lora_result.json"
    script = str(REPO / "benchmarks" / "multi_lora.py")
    command = [sys.executable, script, "--device", device, "--members", str(members), "--population", str(models)]
    subprocess.run([*command, "--out", str(result), *sizes], check=True)
    r = json.loads(result.read_text())
    one, each = r["multi_lora"]["wall_s"], r["engine_per_model"]["wall_s"]
    return {
        "seconds": one + each,
        "figure": f"one engine {one:.1f} s, one per member {each:.1f} s ({r['ratio_wall']:.2f}x); "
        f"{r['throughput_tokens_per_s']['multi_lora']:.0f} tokens/s on one engine",
    }


def report(out: Path) -> str:
    """The Markdown table of the steps' JSON records in ``out`` (a missing one did not finish)."""
    rows = ["| step | status | seconds | figure |", "| --- | --- | --- | --- |"]
    for step in STEPS:
        path = out / f"{step}.json"
        record = json.loads(path.read_text()) if path.exists() else {"status": "did not finish"}
        seconds = f"{record['seconds']:.1f}" if "seconds" in record else ""
        rows.append(f"| {step} | {record.get('status', 'ok')} | {seconds} | {record.get('figure', '')} |")
    machine = (out / "machine.txt").read_text().strip() if (out / "machine.txt").exists() else platform.machine()
    return f"GPU check on {machine}\n\n" + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("models", type=Path)
    p.add_argument("--members", type=int, default=4)
    for name in ("dpo", "multi_lora", "generate"):
        p = sub.add_parser(name)
        p.add_argument("models", type=Path)
        p.add_argument("out", type=Path)
        p.add_argument("--device", default="cuda")
    sub.choices["multi_lora"].add_argument("--members", type=int, default=4)
    sub.choices["generate"].add_argument("--backend", default="vllm")
    sub.choices["generate"].add_argument("--prompts", type=int, default=256)
    p = sub.add_parser("report")
    p.add_argument("out", type=Path)
    args, sizes = parser.parse_known_args()  # multi_lora passes its sizes on to benchmarks/multi_lora.py
    if sizes and args.step != "multi_lora":
        parser.error(f"unrecognized arguments: {sizes}")
    match args.step:
        case "prepare":
            prepare(args.models, args.members)
        case "dpo":
            (args.out / "dpo.json").write_text(json.dumps(dpo_step(args.models, args.out, args.device)))
        case "multi_lora":
            record = multi_lora(args.models, args.out, args.device, args.members, sizes)
            (args.out / "multi_lora.json").write_text(json.dumps(record))
        case "generate":
            record = generate_job(args.models, args.out, args.device, args.backend, args.prompts)
            (args.out / "generate.json").write_text(json.dumps(record))
        case "report":
            table = report(args.out)
            (args.out / "gpu_check.md").write_text(table)
            print(table)


if __name__ == "__main__":
    main()
