from agon.logs import log_to
from agon.tasks import write_splits

with log_to(snakemake.log[0]):
    write_splits(
        snakemake.params.task,
        snakemake.params.seed,
        dict(snakemake.output.items()),
        with_background=snakemake.params.with_background,
    )
