from agon.evaluation import EvalConfig, evaluate_model
from agon.logs import log_to
from agon.models import ModelSpec

with log_to(snakemake.log[0]):
    evaluate_model(
        snakemake.input.heldout,
        snakemake.output[0],
        ModelSpec.from_dict(snakemake.params.spec),
        EvalConfig.from_dict(snakemake.params.evaluation),
        task=snakemake.params.task,
        iteration=int(snakemake.wildcards.i),
        backend=snakemake.params.backend,
        device=snakemake.params.device,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
