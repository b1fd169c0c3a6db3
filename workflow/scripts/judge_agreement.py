from agon.judging.agreement import write_agreement
from agon.logs import log_to

with log_to(snakemake.log[0]):
    write_agreement(snakemake.input.matches, snakemake.params.paths, snakemake.input.verifier, snakemake.output[0])
