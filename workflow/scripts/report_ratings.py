from agon.logs import log_to
from agon.report import write_rating_trajectory_plot

with log_to(snakemake.log[0]):
    write_rating_trajectory_plot(snakemake.input.table, snakemake.wildcards.scheme, snakemake.output[0])
