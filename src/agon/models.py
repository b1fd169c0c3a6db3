"""Population members: where a model's weights come from, and loading them for inference.

torch, transformers and safetensors load inside the functions that use them: a job that only reads a member's
answers (the judge and evaluate jobs of a one-load run) names a ModelSpec without paying seconds of imports.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agon.files import looks_like_path

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

# Unpickling can run any code the file's author wrote, so weights load from safetensors only (tensors, no code).
PICKLED_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


class ModelFileError(ValueError):
    """A model, adapter or chat template that Agon will not load; the message names the path and why."""


@dataclass(frozen=True)
class ModelSpec:
    """One member as a job sees it: base weights, optional adapter, chat template."""

    name: str
    base: str
    adapter: str | None = None
    chat_template: str | None = None
    trust_remote_code: bool = False

    @classmethod
    def from_dict(cls, cfg: dict) -> ModelSpec:
        return cls(
            name=cfg["name"],
            base=cfg["base"],
            adapter=cfg.get("adapter"),
            chat_template=cfg.get("chat_template"),
            trust_remote_code=cfg.get("trust_remote_code", False),
        )


def resolve_device(device: str) -> torch.device:
    import torch

    match device:
        case "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        case "cuda" if not torch.cuda.is_available():
            raise RuntimeError("config key 'device' is 'cuda' but torch sees no CUDA device")
        case _:
            return torch.device(device)


def _check_safetensors(path: Path, who: str) -> None:
    """Read the file's header: a truncated or foreign file fails here, named, before any model loads."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt"):
            pass
    except (SafetensorError, OSError) as err:
        raise ModelFileError(f"{who}: {path} is not a readable safetensors file ({err})") from None


def _no_safetensors(path: Path, who: str, expected: str) -> ModelFileError:
    pickled = sorted(p.name for p in path.iterdir() if p.suffix in PICKLED_WEIGHTS)
    if pickled:
        return ModelFileError(
            f"{who}: {path} holds pickled weights only ({', '.join(pickled)}); Agon loads {expected} only, because "
            "unpickling a file can run code. Convert it where you trust it: load it, then save_pretrained() it."
        )
    return ModelFileError(f"{who}: {path} holds no weights ({expected})")


def check_model_dir(base: str, who: str) -> None:
    """Refuse a local model directory that is missing, is no Hugging Face model, or holds no safetensors weights,
    before anything loads. A Hub id passes: loading asks the Hub for safetensors only (``use_safetensors``)."""
    path = Path(base)
    if not path.is_dir():
        if looks_like_path(base):
            raise ModelFileError(f"{who}: model directory {base} not found")
        return
    if not (path / "config.json").is_file():
        raise ModelFileError(f"{who}: {base} holds no config.json, so it is not a Hugging Face model directory")
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        raise _no_safetensors(path, who, "model.safetensors or its shards")
    for file in weights:
        _check_safetensors(file, who)


def local_adapter(adapter: str, who: str) -> str:
    """The local directory of a peft adapter, checked before any weights load: a readable adapter_config.json and
    adapter_model.safetensors (peft would fall back to a pickled adapter_model.bin). A Hub id is downloaded first,
    those two files only."""
    path = Path(adapter)
    if not path.is_dir():
        if looks_like_path(adapter):
            raise ModelFileError(f"{who}: adapter directory {adapter} not found")
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(adapter, allow_patterns=[ADAPTER_CONFIG, ADAPTER_WEIGHTS]))
    config = path / ADAPTER_CONFIG
    if not config.is_file():
        raise ModelFileError(f"{who}: adapter {adapter} holds no {ADAPTER_CONFIG}, so it is not a peft adapter")
    try:
        settings = json.loads(config.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{who}: {config} is not readable JSON ({err})") from None
    if not isinstance(settings, dict):
        raise ModelFileError(f"{who}: {config} holds no JSON object")
    weights = path / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise _no_safetensors(path, who, ADAPTER_WEIGHTS)
    _check_safetensors(weights, who)
    return str(path)


def read_chat_template(template: str, who: str) -> str:
    """A template given as a path to a .jinja file is read; anything else is the template itself."""
    source = "chat_template"
    if template.endswith(".jinja"):
        path = Path(template)
        if not path.is_file():
            raise FileNotFoundError(f"{who}: chat_template file {template} not found")
        try:
            template = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise ModelFileError(f"{who}: chat_template file {path} is not UTF-8 text ({err})") from None
        source = f"chat_template file {path}"
    if "{{" not in template and "{%" not in template:
        # Most likely a path to a template that does not end in .jinja: rendered, it would be the prompt itself.
        raise ModelFileError(
            f"{who}: {source} holds no Jinja markup ({{{{ }}}} or {{% %}}): give the template itself, "
            "or a path ending in .jinja"
        )
    return template


def load_tokenizer(spec: ModelSpec) -> PreTrainedTokenizerBase:
    from jinja2 import TemplateError
    from transformers import AutoTokenizer

    who = f"model {spec.name}"
    template = None if spec.chat_template is None else read_chat_template(spec.chat_template, who)
    tokenizer = AutoTokenizer.from_pretrained(spec.base, trust_remote_code=spec.trust_remote_code)
    if template is not None:
        tokenizer.chat_template = template
    if tokenizer.chat_template is None:
        raise ValueError(f"{who}: tokenizer of {spec.base} has no chat template; set chat_template")
    try:
        # Every prompt is one user turn; a template that cannot render one fails here, not mid-job.
        tokenizer.apply_chat_template([{"role": "user", "content": "1+1?"}], tokenize=False, add_generation_prompt=True)
    except TemplateError as err:
        raise ModelFileError(f"{who}: the chat template cannot render a user turn: {err}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_for_inference(spec: ModelSpec, device: torch.device) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load base (+ adapter, merged for speed) in eval mode on ``device``; the files are checked first."""
    import torch
    from transformers import AutoModelForCausalLM

    check_model_dir(spec.base, f"model {spec.name}")
    adapter = None if spec.adapter is None else local_adapter(spec.adapter, f"model {spec.name}")
    # benchmarks/one_load.py counts the loads by this line
    logger.info("loading model %s for inference on %s", spec.name, device)
    tokenizer = load_tokenizer(spec)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(
        spec.base, dtype=dtype, trust_remote_code=spec.trust_remote_code, use_safetensors=True
    )
    if adapter is not None:
        from peft import PeftModel

        logger.info("applying adapter %s to %s", spec.adapter, spec.base)
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model.to(device).eval(), tokenizer
