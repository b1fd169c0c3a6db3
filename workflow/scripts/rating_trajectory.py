from agon.logs import log_to
from agon.ratings.trajectory import write_trajectory

with log_to(snakemake.log[0]):
    write_trajectory(
        list(snakemake.input.ratings), list(snakemake.input.evals), snakemake.output.table, snakemake.output.health
    )
