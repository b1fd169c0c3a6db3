from agon.logs import log_to
from agon.selfplay import write_win_rates

with log_to(snakemake.log[0]):
    write_win_rates(
        snakemake.input.matches,
        list(snakemake.input.judgments),
        snakemake.output.rates,
        snakemake.output.summary,
        snakemake.params.samples,
    )
