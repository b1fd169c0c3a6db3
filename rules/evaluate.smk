# Held-out accuracy of every model at every iteration (iteration 0: the initial population).


rule evaluate:
    input:
        unpack(model_files),
        heldout=rules.task_splits.output.heldout,
    output:
        PLAN.pattern("evaluation"),
    log:
        PLAN.log("evaluate"),
    benchmark:
        PLAN.benchmark("evaluate")
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=30,
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        evaluation=config["evaluation"],
        evaluator=EVALUATOR,
        backend=config["generation"]["backend"],
        engine=config["generation"]["vllm"],
        device=config["device"],
        seed=lambda wc: job_seed("evaluate", wc.i, wc.model),
    script:
        "../workflow/scripts/evaluate.py"
