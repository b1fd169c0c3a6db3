# Each iteration's fresh prompts, answered by every model, one job per engine group (infer) or per (engine group,
# shard) (generate_shard): a group is one member with the hf backend, all members on one base model with vllm
# (agon.plan.engine_groups). The matches come from the protocol's rules (rules/schedule.smk, rules/selfplay.smk).


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    iteration_prompts,
    duel_prompts,
    gather_generations,


rule iteration_prompts:
    input:
        preference=rules.task_splits.output.preference,
    output:
        PLAN.pattern("prompts"),
    log:
        PLAN.log("iteration_prompts"),
    benchmark:
        PLAN.benchmark("iteration_prompts")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        size=config["task"]["prompts_per_iteration"],
    script:
        "../workflow/scripts/iteration_prompts.py"


# The prompts each model must answer: those of its duels (tribe) or all of them (selfplay).
rule duel_prompts:
    input:
        matches=PLAN.pattern("matches"),
    output:
        PLAN.pattern("duel_prompts"),
    log:
        PLAN.log("duel_prompts"),
    benchmark:
        PLAN.benchmark("duel_prompts")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/duel_prompts.py"


# One model load per member and iteration (PLAN.one_load): the infer job of a group answers its duels, and also
# writes each member's greedy answers as a reference judge and its held-out evaluation answers, which the judge
# and evaluate jobs read instead of loading the model (agon.inference). The evaluation and judging settings are read
# from the config in the job, not passed as params, so that changing them re-runs only the judge or evaluate jobs:
# those then see the infer job's recorded settings differ and load the model themselves.
if PLAN.one_load:

    rule infer:
        input:
            unpack(group_files),
            prompts=group_prompts,
            matches=PLAN.pattern("matches"),
            heldout=rules.task_splits.output.heldout,
        output:
            **PLAN.inference_patterns(),
            generations=temp(PLAN.pattern("generation_shard", shard=0)),
        log:
            PLAN.log("infer"),
        benchmark:
            PLAN.benchmark("infer")
        conda:
            ENV
        threads: config["threads"]
        resources:
            gpu=gpus(),
            mem_mb=8000,
            runtime=90,
        params:
            specs=group_specs,
            generation=config["generation"],
            device=config["device"],
            # the generation seeds of shard 0, the evaluation seeds of rules/evaluate.smk
            seeds=lambda wc: group_seeds("generate", wc, 0),
            evaluation_seeds=lambda wc: group_seeds("evaluate", wc),
            shards=PLAN.generation_shards,
            judge_shards=PLAN.judge_shards,
        script:
            "../workflow/scripts/infer.py"


# The generation shards the infer job does not answer: all of them without one_load, shards 1.. with it.
if PLAN.generate_shard_numbers:

    rule generate_shard:
        input:
            unpack(group_files),
            prompts=group_prompts,
        output:
            temp(PLAN.pattern("generation_shard")),
        log:
            PLAN.log("generate_shard"),
        benchmark:
            PLAN.benchmark("generate_shard")
        wildcard_constraints:
            shard=names(map(str, PLAN.generate_shard_numbers)),
        conda:
            ENV
        threads: config["threads"]
        resources:
            gpu=gpus(),
            mem_mb=8000,
            runtime=60,
        params:
            specs=group_specs,
            generation=config["generation"],
            device=config["device"],
            shards=PLAN.generation_shards,
            seeds=lambda wc: group_seeds("generate", wc, wc.shard),
        script:
            "../workflow/scripts/generate.py"


rule gather_generations:
    input:
        lambda wc: [
            PLAN.path("generation_shard", i=wc.i, group=PLAN.group_of(wc.model), shard=shard)
            for shard in range(PLAN.generation_shards)
        ],
    output:
        PLAN.pattern("generations"),
    log:
        PLAN.log("gather_generations"),
    benchmark:
        PLAN.benchmark("gather_generations")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/gather_generations.py"
