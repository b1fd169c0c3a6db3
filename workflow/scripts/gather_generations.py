from agon.generation import gather_shards
from agon.logs import log_to

with log_to(snakemake.log[0]):
    gather_shards(list(snakemake.input), snakemake.output[0], model=snakemake.wildcards.model)
