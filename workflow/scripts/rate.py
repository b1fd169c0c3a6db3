from agon.logs import log_to
from agon.ratings import rate_iteration

with log_to(snakemake.log[0]):
    rate_iteration(
        snakemake.input.matches,
        list(snakemake.input.judgments),
        snakemake.input.get("previous"),
        snakemake.output[0],
        snakemake.wildcards.scheme,
        snakemake.params.params,
        snakemake.params.models,
        snakemake.params.seed,
        iteration=int(snakemake.wildcards.i),
        audit_path=snakemake.input.get("audit"),
        weighting=snakemake.params.weighting,
        tie_band=snakemake.params.tie_band,
    )
