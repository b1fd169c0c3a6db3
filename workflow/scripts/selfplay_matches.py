from agon.logs import log_to
from agon.selfplay import write_comparisons

with log_to(snakemake.log[0]):
    write_comparisons(
        snakemake.input.prompts,
        snakemake.output[0],
        snakemake.params.models,
        snakemake.params.samples,
        previous=snakemake.params.previous,
    )
