from agon.evaluation import Panel
from agon.logs import log_to
from agon.ratings import BradleyTerryConfig
from agon.tournament import write_tournament

# vLLM starts its engine processes by spawning, which re-imports this file: only the parent may run the job.
if __name__ == "__main__":
    params = snakemake.params
    with log_to(snakemake.log[0]):
        write_tournament(
            snakemake.input.heldout,
            list(snakemake.input.answers),
            [tuple(checkpoint) for checkpoint in params.checkpoints],
            dict(snakemake.output.items()),
            prompts=params.prompts,
            panel=Panel(**params.panel, key="tournament.judge"),
            rating=BradleyTerryConfig.from_dict(params.rating),
            seed=params.seed,
            threads=snakemake.threads,
        )
