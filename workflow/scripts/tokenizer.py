from agon.bootstrap.tokenizer import build_tokenizer
from agon.contracts import PROMPTS, read_table
from agon.logs import log_to

with log_to(snakemake.log[0]):
    train = read_table(snakemake.input.train, PROMPTS)
    texts = (f"{p} {r}" for p, r in zip(train["prompt"], train["reference"], strict=True))
    build_tokenizer(texts, snakemake.params.vocab_size, snakemake.output[0])
