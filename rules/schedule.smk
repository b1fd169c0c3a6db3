# Tribe matchmaking: who duels whom on which prompt, by the previous iteration's ratings.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    schedule,


rule schedule:
    input:
        unpack(previous_ratings),
        prompts=rules.iteration_prompts.output[0],
    output:
        PLAN.pattern("matches"),
    log:
        PLAN.log("schedule"),
    benchmark:
        PLAN.benchmark("schedule")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        models=MODELS,
        initial=config["tribe"]["initial_ratings"],
        tribe=config["tribe"],
        seed=lambda wc: job_seed("schedule", wc.i),
    script:
        "../workflow/scripts/schedule.py"
