from agon.generation import SamplingConfig, generate_responses
from agon.logs import log_to
from agon.models import ModelSpec

# vLLM starts its engine processes by spawning, which re-imports this file: only the parent may run the job.
if __name__ == "__main__":
    specs = [ModelSpec.from_dict(spec) for spec in snakemake.params.specs]
    with log_to(snakemake.log[0]):
        generate_responses(
            {spec.name: path for spec, path in zip(specs, snakemake.input.prompts, strict=True)},
            snakemake.output[0],
            specs,
            SamplingConfig.from_dict(snakemake.params.generation),
            backend=snakemake.params.generation["backend"],
            device=snakemake.params.device,
            seeds=snakemake.params.seeds,
            engine=snakemake.params.generation["vllm"],
            shard=int(snakemake.wildcards.get("shard", 0)),
            shards=snakemake.params.shards,
            threads=snakemake.threads,
        )
