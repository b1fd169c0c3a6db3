from agon.debate import write_speeches
from agon.logs import log_to

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
