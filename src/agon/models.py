"""Population members: where a model's weights come from, and loading them for inference."""

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """One member as a job sees it: base weights, optional adapter, chat template."""

    name: str
    base: str
    adapter: str | None = None
    chat_template: str | None = None
    trust_remote_code: bool = False

    @classmethod
    def from_dict(cls, cfg: dict) -> "ModelSpec":
        return cls(
            name=cfg["name"],
            base=cfg["base"],
            adapter=cfg.get("adapter"),
            chat_template=cfg.get("chat_template"),
            trust_remote_code=cfg.get("trust_remote_code", False),
        )


def resolve_device(device: str) -> torch.device:
    match device:
        case "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        case "cuda" if not torch.cuda.is_available():
            raise RuntimeError("config key 'device' is 'cuda' but torch sees no CUDA device")
        case _:
            return torch.device(device)


def _chat_template(template: str) -> str:
    """A template given as a path to a .jinja file is read; anything else is the template itself."""
    if template.endswith(".jinja"):
        path = Path(template)
        if not path.is_file():
            raise FileNotFoundError(f"chat_template: file {template} not found")
        return path.read_text()
    return template


def load_tokenizer(spec: ModelSpec) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(spec.base, trust_remote_code=spec.trust_remote_code)
    if spec.chat_template is not None:
        tokenizer.chat_template = _chat_template(spec.chat_template)
    if tokenizer.chat_template is None:
        raise ValueError(f"model {spec.name}: tokenizer of {spec.base} has no chat template; set chat_template")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_for_inference(spec: ModelSpec, device: torch.device) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load base (+ adapter, merged for speed) in eval mode on ``device``."""
    tokenizer = load_tokenizer(spec)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(spec.base, dtype=dtype, trust_remote_code=spec.trust_remote_code)
    if spec.adapter is not None:
        from peft import PeftModel

        logger.info("applying adapter %s to %s", spec.adapter, spec.base)
        model = PeftModel.from_pretrained(model, spec.adapter).merge_and_unload()
    return model.to(device).eval(), tokenizer
