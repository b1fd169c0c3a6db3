from agon.logs import log_to
from agon.report import write_selfplay_win_rates, write_win_matrices

with log_to(snakemake.log[0]):
    if snakemake.params.protocol == "selfplay":
        write_selfplay_win_rates(list(snakemake.input.summaries), snakemake.params.models, snakemake.output[0])
    else:
        write_win_matrices(
            list(snakemake.input.matches), snakemake.params.judgments, snakemake.params.models, snakemake.output[0]
        )
