from agon.debate import write_outcomes
from agon.logs import log_to

with log_to(snakemake.log[0]):
    write_outcomes(snakemake.input.matches, list(snakemake.input.judgments), snakemake.output[0])
