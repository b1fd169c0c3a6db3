# DPO on the iteration's pairs: each model's LoRA adapter, continued from the previous iteration's.


rule train:
    input:
        unpack(model_files),
        pairs="results/{run}/iter_{i}/pairs/{model}.parquet",
    output:
        directory("results/{run}/iter_{i}/adapters/{model}"),
    log:
        "results/{run}/logs/train/iter_{i}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/train/iter_{i}/{model}.tsv"
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        training=config["training"],
        device=config["device"],
        seed=lambda wc: job_seed("train", wc.i, wc.model),
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=120,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/train.py"
