from agon.logs import log_to
from agon.report import write_tournament_plot

with log_to(snakemake.log[0]):
    write_tournament_plot(
        snakemake.input.ratings, snakemake.input.win_matrix, snakemake.input.summary, snakemake.output[0]
    )
