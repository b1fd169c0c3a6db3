# Each iteration's fresh prompts, answered by every model, one job per (engine group, shard): a group is one
# member with the hf backend, all members on one base model with vllm (GROUPS in common.smk). The matches come from
# rules/schedule.smk (tribe) or rules/selfplay.smk.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    iteration_prompts,
    duel_prompts,
    gather_generations,


rule iteration_prompts:
    input:
        preference=rules.task_splits.output.preference,
    output:
        "results/{run}/iter_{i}/prompts.parquet",
    log:
        "results/{run}/logs/iteration_prompts/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/iteration_prompts/iter_{i}.tsv"
    params:
        size=config["task"]["prompts_per_iteration"],
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/iteration_prompts.py"


# The prompts each model must answer: those of its duels (tribe) or all of them (selfplay).
rule duel_prompts:
    input:
        matches=MATCHES_FILE,
    output:
        "results/{run}/iter_{i}/prompts/{model}.parquet",
    log:
        "results/{run}/logs/duel_prompts/iter_{i}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/duel_prompts/iter_{i}/{model}.tsv"
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/duel_prompts.py"


rule generate_shard:
    input:
        unpack(group_files),
        prompts=lambda wc: [f"results/{RUN}/iter_{wc.i}/prompts/{m}.parquet" for m in GROUPS[wc.group]],
    output:
        temp("results/{run}/iter_{i}/generations/shards/{group}/{shard}.parquet"),
    log:
        "results/{run}/logs/generate/iter_{i}/{group}/{shard}.log",
    benchmark:
        "results/{run}/benchmarks/generate/iter_{i}/{group}/{shard}.tsv"
    params:
        specs=lambda wc: [model_spec(m, int(wc.i)) for m in GROUPS[wc.group]],
        generation=config["generation"],
        device=config["device"],
        shards=SHARDS,
        # Per member, not per group: a member's answers do not depend on which members share its engine.
        seeds=lambda wc: {m: job_seed("generate", wc.i, m, wc.shard) for m in GROUPS[wc.group]},
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=60,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/generate.py"


rule gather_generations:
    input:
        lambda wc: expand(
            "results/{run}/iter_{i}/generations/shards/{group}/{shard}.parquet",
            run=wc.run,
            i=wc.i,
            group=GROUP_OF[wc.model],
            shard=range(SHARDS),
        ),
    output:
        "results/{run}/iter_{i}/generations/{model}.parquet",
    log:
        "results/{run}/logs/gather_generations/iter_{i}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/gather_generations/iter_{i}/{model}.tsv"
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/gather_generations.py"
