from agon.debate import write_debates
from agon.logs import log_to

with log_to(snakemake.log[0]):
    write_debates(snakemake.input.prompts, snakemake.output[0], snakemake.params.models, snakemake.params.seed)
