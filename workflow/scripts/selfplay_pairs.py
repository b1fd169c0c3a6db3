from agon.logs import log_to
from agon.selfplay import make_selfplay_pairs

with log_to(snakemake.log[0]):
    make_selfplay_pairs(
        snakemake.input.rates,
        list(snakemake.input.generations),
        snakemake.input.matches,
        list(snakemake.input.judgments),
        list(snakemake.input.verifier),
        dict(zip(snakemake.params.models, snakemake.output.pairs, strict=True)),
        snakemake.output.stats,
        strategy=snakemake.params.selfplay["strategy"],
        margin=snakemake.params.selfplay["margin"],
        verdict_margin=snakemake.params.selfplay["verdict_margin"],
        k=snakemake.params.samples,
        seed=snakemake.params.seed,
    )
