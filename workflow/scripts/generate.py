from agon.generation import SamplingConfig, generate_responses
from agon.logs import log_to
from agon.models import ModelSpec

with log_to(snakemake.log[0]):
    generate_responses(
        snakemake.input.prompts,
        snakemake.output[0],
        ModelSpec.from_dict(snakemake.params.spec),
        SamplingConfig.from_dict(snakemake.params.generation),
        backend=snakemake.params.generation["backend"],
        device=snakemake.params.device,
        seed=snakemake.params.seed,
        shard=int(snakemake.wildcards.get("shard", 0)),
        shards=snakemake.params.shards,
        threads=snakemake.threads,
    )
