from agon.logs import log_to
from agon.tribe import PairsConfig, make_pairs

with log_to(snakemake.log[0]):
    make_pairs(
        snakemake.input.matches,
        list(snakemake.input.judgments),
        list(snakemake.input.generations),
        snakemake.input.ratings,
        dict(zip(snakemake.params.models, snakemake.output.pairs, strict=True)),
        snakemake.output.stats,
        PairsConfig.from_dict(snakemake.params.pairs),
        evaluator=snakemake.params.evaluator,
    )
