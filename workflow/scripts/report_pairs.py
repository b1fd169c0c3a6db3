from agon.logs import log_to
from agon.report import write_pair_stats_plot

with log_to(snakemake.log[0]):
    write_pair_stats_plot(list(snakemake.input.stats), snakemake.output[0])
