# The embedded default population, built offline: task splits -> tokenizer -> one SFT run per member.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    task_splits,
    tokenizer,


rule task_splits:
    output:
        train="results/{run}/data/train.parquet",
        preference="results/{run}/data/preference.parquet",
        heldout="results/{run}/data/heldout.parquet",
    log:
        "results/{run}/logs/task_splits.log",
    benchmark:
        "results/{run}/benchmarks/task_splits.tsv"
    params:
        task=config["task"],
        seed=config["seed"],
        # Only debaters may read a passage (QuALITY's articles); other protocols show it in the prompt.
        with_background=PROTOCOL != "debate",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/task_splits.py"


rule tokenizer:
    input:
        train=rules.task_splits.output.train,
    output:
        directory("results/{run}/bootstrap/tokenizer"),
    log:
        "results/{run}/logs/tokenizer.log",
    benchmark:
        "results/{run}/benchmarks/tokenizer.tsv"
    params:
        vocab_size=config["embedded"]["vocab_size"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/tokenizer.py"


rule embedded_member:
    input:
        train=rules.task_splits.output.train,
        tokenizer=rules.tokenizer.output[0],
    output:
        directory("results/{run}/models/{model}"),
    log:
        "results/{run}/logs/embedded_member/{model}.log",
    benchmark:
        "results/{run}/benchmarks/embedded_member/{model}.tsv"
    wildcard_constraints:
        model="|".join(map(re.escape, EMBEDDED_MODELS)) or "(?!)",
    params:
        architecture=lambda wc: member_architecture(wc.model),
        sft=lambda wc: member_sft(wc.model),
        evaluator=EVALUATOR,
        seed=lambda wc: job_seed("member", wc.model),
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=4000,
        runtime=60,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/embedded_member.py"
