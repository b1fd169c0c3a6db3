from agon.debate import write_speeches
from agon.logs import log_to

# vLLM starts its engine processes by spawning, which re-imports this file: only the parent may run the job.
if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        write_speeches(
            snakemake.input.matches,
            list(snakemake.input.earlier),
            snakemake.output[0],
            spec_dict=snakemake.params.spec,
            generation=snakemake.params.generation,
            debate=snakemake.params.debate,
            turn=int(snakemake.wildcards.turn),
            model=snakemake.wildcards.model,
            device=snakemake.params.device,
            seed=snakemake.params.seed,
            threads=snakemake.threads,
        )
