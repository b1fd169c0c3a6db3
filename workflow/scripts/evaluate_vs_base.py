from agon.evaluation import Panel, write_win_rates_vs_base
from agon.logs import log_to

# vLLM starts its engine processes by spawning, which re-imports this file: only the parent may run the job.
if __name__ == "__main__":
    models = snakemake.params.models
    with log_to(snakemake.log[0]):
        write_win_rates_vs_base(
            snakemake.input.heldout,
            dict(zip(models, snakemake.input.answers, strict=True)),
            dict(zip(models, snakemake.input.base, strict=True)),
            dict(zip(models, snakemake.output.documents, strict=True)),
            snakemake.output.judgments,
            iteration=int(snakemake.wildcards.i),
            panel=Panel(**snakemake.params.panel),
            threads=snakemake.threads,
        )
