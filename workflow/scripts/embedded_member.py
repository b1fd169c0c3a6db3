from agon.bootstrap.model import TinyModelConfig
from agon.bootstrap.sft import MemberSFTConfig, train_member
from agon.logs import log_to

with log_to(snakemake.log[0]):
    train_member(
        snakemake.input.train,
        snakemake.input.tokenizer,
        snakemake.output[0],
        TinyModelConfig(**snakemake.params.architecture),
        MemberSFTConfig.from_dict(snakemake.params.sft),
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        evaluator=snakemake.params.evaluator,
    )
