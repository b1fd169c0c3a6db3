from agon.logs import log_to
from agon.report import write_training_plot

with log_to(snakemake.log[0]):
    write_training_plot(snakemake.params.adapters, snakemake.output[0])
