from agon.logs import log_to
from agon.ratings.comparison import write_comparison

with log_to(snakemake.log[0]):
    write_comparison(
        snakemake.input.matches,
        list(snakemake.input.judgments),
        snakemake.output.json,
        snakemake.output.png,
        snakemake.params.schemes,
        snakemake.params.models,
        snakemake.params.seed,
    )
