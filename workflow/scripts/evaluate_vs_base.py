from agon.evaluation import write_win_rates_vs_base
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
            judge=snakemake.params.judge,
            jurors=snakemake.params.jurors,
            judging=snakemake.params.judging,
            external=snakemake.params.external,
            evaluator=snakemake.params.evaluator,
            device=snakemake.params.device,
            generation=snakemake.params.generation,
            cache_dir=snakemake.params.cache,
            threads=snakemake.threads,
        )
