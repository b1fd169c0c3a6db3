"""From a user prompt to the model's input, and from generated token ids to a Completion, the same way for every
backend: identical inputs are what make the backends' greedy outputs agree token for token."""

from transformers import PreTrainedTokenizerBase

from agon.generation.protocol import Completion


def chat_text(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    """The prompt as one user turn in the model's chat template, ready for the assistant's answer. The template
    already holds any special tokens the model expects, so tokenise it with ``add_special_tokens=False``."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )


def to_completion(tokenizer: PreTrainedTokenizerBase, ids: list[int], eos: int) -> Completion:
    """Cut at the first end-of-sequence token; without one the answer ran into max_new_tokens."""
    stopped = eos in ids
    ids = ids[: ids.index(eos)] if stopped else ids
    text = tokenizer.decode(ids, skip_special_tokens=True)
    return Completion(text=text, n_tokens=len(ids), finish_reason="stop" if stopped else "length")
