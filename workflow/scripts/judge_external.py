from agon.judging import judge_matches_external
from agon.logs import log_to

with log_to(snakemake.log[0]):
    judge_matches_external(
        snakemake.input.matches,
        list(snakemake.input.get("generations", [])),
        snakemake.output.judgments,
        snakemake.wildcards.judge,
        snakemake.params.judge,
        device=snakemake.params.device,
        cache_dir=snakemake.params.cache,
        duels_path=snakemake.input.get("duels"),
        branches_path=snakemake.output.get("branches"),
        shard=int(snakemake.wildcards.get("shard", 0)),
        shards=snakemake.params.shards,
    )
