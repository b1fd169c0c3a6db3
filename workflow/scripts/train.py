from agon.logs import log_to
from agon.models import ModelSpec
from agon.training import TrainConfig, train_adapter

with log_to(snakemake.log[0]):
    train_adapter(
        snakemake.input.pairs,
        snakemake.output[0],
        ModelSpec.from_dict(snakemake.params.spec),
        TrainConfig.from_dict(snakemake.params.training),
        device=snakemake.params.device,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
