from agon.judging import gather_judgments
from agon.logs import log_to

with log_to(snakemake.log[0]):
    gather_judgments(
        list(snakemake.input.judgments),
        snakemake.output.judgments,
        list(snakemake.input.get("branches", [])),
        snakemake.output.get("branches"),
    )
