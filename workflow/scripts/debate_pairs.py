from agon.debate import make_debate_pairs
from agon.logs import log_to

with log_to(snakemake.log[0]):
    make_debate_pairs(
        snakemake.input.matches,
        snakemake.input.transcript,
        list(snakemake.input.branches),
        dict(zip(snakemake.params.models, snakemake.output.pairs, strict=True)),
        snakemake.output.stats,
        snakemake.params.debate,
    )
