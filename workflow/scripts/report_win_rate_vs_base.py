from agon.logs import log_to
from agon.report import write_win_rate_vs_base_plot

with log_to(snakemake.log[0]):
    write_win_rate_vs_base_plot(list(snakemake.input.documents), snakemake.output[0])
