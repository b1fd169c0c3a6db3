# DPO on the iteration's pairs: each model's LoRA adapter, continued from the previous iteration's.
# A shell command, so that the same `python -m agon.training ...` runs by hand; with more than one GPU
# (gpus_per_job), `accelerate launch` starts one process per GPU (docs/gpus.md).
import json
import sys

from agon.launch import training_launcher

# The interpreter that runs Snakemake, as for `script:` rules; under --sdm conda (or a container), the environment's.
TRAIN_PYTHON = "python" if workflow.deployment_settings.deployment_method else sys.executable


rule train:
    input:
        unpack(model_files),
        pairs=PLAN.pattern("pairs"),
    output:
        directory(PLAN.pattern("adapter")),
    log:
        PLAN.log("train"),
    benchmark:
        PLAN.benchmark("train")
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=120,
    params:
        # The GPUs the job was given (a profile's set-resources included), one process each.
        launcher=lambda wc, resources: training_launcher(resources.gpu, TRAIN_PYTHON),
        spec=lambda wc: json.dumps(model_spec(wc.model, int(wc.i))),
        training=json.dumps(config["training"]),
        device=config["device"],
        seed=lambda wc: job_seed("train", wc.i, wc.model),
    shell:
        "{params.launcher} -m agon.training --pairs {input.pairs:q} --out {output:q} --model {params.spec:q}"
        " --training {params.training:q} --device {params.device} --seed {params.seed} --threads {threads}"
        " > {log:q} 2>&1"
