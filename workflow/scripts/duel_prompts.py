from agon.logs import log_to
from agon.tribe import write_duel_prompts

with log_to(snakemake.log[0]):
    write_duel_prompts(snakemake.input.matches, snakemake.output[0], snakemake.wildcards.model)
