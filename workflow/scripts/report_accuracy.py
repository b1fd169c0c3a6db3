from agon.logs import log_to
from agon.report import write_accuracy_plot

with log_to(snakemake.log[0]):
    write_accuracy_plot(list(snakemake.input.evals), snakemake.output[0])
