# The embedded default population, built offline: task splits -> tokenizer -> one SFT run per member.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    task_splits,
    tokenizer,


rule task_splits:
    output:
        **{split: PLAN.pattern("split", split=split) for split in SPLITS},
    log:
        PLAN.log("task_splits"),
    benchmark:
        PLAN.benchmark("task_splits")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        task=config["task"],
        seed=config["seed"],
        # Only debaters may read a passage (QuALITY's articles); other protocols show it in the prompt.
        with_background=PROTOCOL != "debate",
    script:
        "../workflow/scripts/task_splits.py"


rule tokenizer:
    input:
        train=rules.task_splits.output.train,
    output:
        directory(PLAN.pattern("tokenizer")),
    log:
        PLAN.log("tokenizer"),
    benchmark:
        PLAN.benchmark("tokenizer")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        vocab_size=config["embedded"]["vocab_size"],
    script:
        "../workflow/scripts/tokenizer.py"


rule embedded_member:
    input:
        train=rules.task_splits.output.train,
        tokenizer=rules.tokenizer.output[0],
    output:
        directory(PLAN.pattern("member")),
    log:
        PLAN.log("embedded_member"),
    benchmark:
        PLAN.benchmark("embedded_member")
    wildcard_constraints:
        model=names(PLAN.embedded),
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=4000,
        runtime=60,
    params:
        architecture=lambda wc: member_architecture(wc.model),
        sft=lambda wc: member_sft(wc.model),
        evaluator=EVALUATOR,
        seed=lambda wc: job_seed("member", wc.model),
    script:
        "../workflow/scripts/embedded_member.py"
