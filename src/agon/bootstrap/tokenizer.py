"""A small byte-level BPE tokenizer trained on the task's own text.

Digits are split one per token: merged multi-digit tokens make arithmetic much harder for a tiny model.
The chat template is prefix-consistent (a prompt renders identically alone and inside a full conversation),
so TRL's prompt/completion split is exact.
"""

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from agon.files import atomic_directory

PAD, EOS = "<pad>", "<|end|>"
ROLE_TOKENS = ("<|user|>", "<|assistant|>", "<|system|>")
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, eos_token=EOS)
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def build_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: str | Path) -> None:
    """Train the tokenizer and save it, atomically, as a Hugging Face tokenizer directory."""
    tokenizer = train_tokenizer(texts, vocab_size)
    with atomic_directory(out_dir) as tmp:
        tokenizer.save_pretrained(tmp)
