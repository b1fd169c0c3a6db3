from agon.evaluation import EvalConfig
from agon.generation import SamplingConfig
from agon.inference import infer
from agon.logs import log_to
from agon.models import ModelSpec

# vLLM starts its engine processes by spawning, which re-imports this file: only the parent may run the job.
if __name__ == "__main__":
    specs = [ModelSpec.from_dict(spec) for spec in snakemake.params.specs]
    generation = snakemake.params.generation
    with log_to(snakemake.log[0]):
        infer(
            {spec.name: path for spec, path in zip(specs, snakemake.input.prompts, strict=True)},
            snakemake.input.matches,
            snakemake.input.heldout,
            specs,
            SamplingConfig.from_dict(generation),
            dict(snakemake.output.items()),
            # From the config, not params: see rules/generate.smk.
            evaluation=EvalConfig.from_dict(snakemake.config["evaluation"]),
            judging=snakemake.config["judging"],
            backend=generation["backend"],
            device=snakemake.params.device,
            seeds=snakemake.params.seeds,
            evaluation_seeds=snakemake.params.evaluation_seeds,
            engine=generation["vllm"],
            generation_shards=snakemake.params.shards,
            judge_shards=snakemake.params.judge_shards,
            threads=snakemake.threads,
        )
