from agon.logs import log_to
from agon.tribe import MatchmakingConfig, schedule_matches

with log_to(snakemake.log[0]):
    schedule_matches(
        snakemake.input.prompts,
        snakemake.input.get("previous"),
        snakemake.output[0],
        snakemake.params.models,
        snakemake.params.initial,
        MatchmakingConfig.from_dict(snakemake.params.tribe),
        iteration=int(snakemake.wildcards.i),
        seed=snakemake.params.seed,
    )
