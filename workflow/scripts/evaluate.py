from agon.evaluation import EvalConfig, evaluate_model
from agon.inference import inference_of
from agon.logs import log_to
from agon.models import ModelSpec

# vLLM starts its engine processes by spawning, which re-imports this file: only the parent may run the job.
if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        evaluate_model(
            snakemake.input.heldout,
            snakemake.output[0],
            ModelSpec.from_dict(snakemake.params.spec),
            EvalConfig.from_dict(snakemake.params.evaluation),
            evaluator=snakemake.params.evaluator,
            iteration=int(snakemake.wildcards.i),
            backend=snakemake.params.backend,
            engine=snakemake.params.engine,
            device=snakemake.params.device,
            seed=snakemake.params.seed,
            threads=snakemake.threads,
            answers_path=snakemake.output.get("answers"),
            inference=inference_of(snakemake.input),
        )
