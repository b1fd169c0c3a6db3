from agon.logs import log_to
from agon.tasks import write_iteration_prompts

with log_to(snakemake.log[0]):
    write_iteration_prompts(
        snakemake.input.preference, snakemake.output[0], int(snakemake.wildcards.i), snakemake.params.size
    )
