from agon.judging import judge_matches_external
from agon.logs import log_to

with log_to(snakemake.log[0]):
    judge_matches_external(
        snakemake.input.matches,
        list(snakemake.input.generations),
        snakemake.output[0],
        snakemake.wildcards.external,
        snakemake.params.judge,
        device=snakemake.params.device,
        cache_dir=snakemake.params.cache,
    )
