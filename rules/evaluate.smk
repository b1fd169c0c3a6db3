# Held-out accuracy of every model at every iteration (iteration 0: the initial population).


rule evaluate:
    input:
        unpack(model_files),
        heldout=rules.task_splits.output.heldout,
    output:
        "results/{run}/iter_{i}/eval/{model}.json",
    log:
        "results/{run}/logs/evaluate/iter_{i}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/evaluate/iter_{i}/{model}.tsv"
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        evaluation=config["evaluation"],
        evaluator=EVALUATOR,
        backend=config["generation"]["backend"],
        engine=config["generation"]["vllm"],
        device=config["device"],
        seed=lambda wc: job_seed("evaluate", wc.i, wc.model),
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=30,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/evaluate.py"
