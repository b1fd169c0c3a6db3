# Selfplay (SPPO / iterative DPO): each policy samples generation.samples_per_prompt answers per prompt, the
# signal judge compares every two of them in both orders, and pairs come from each answer's win rate.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    selfplay_matches,
    selfplay_win_rates,
    selfplay_pairs,


rule selfplay_matches:
    input:
        prompts=rules.iteration_prompts.output[0],
    output:
        PLAN.pattern("matches"),
    log:
        PLAN.log("selfplay_matches"),
    benchmark:
        PLAN.benchmark("selfplay_matches")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        models=MODELS,
        samples=config["generation"]["samples_per_prompt"],
        previous=lambda wc: int(wc.i) > 0,
    script:
        "../workflow/scripts/selfplay_matches.py"


# The previous iteration's policy answers this iteration's prompts too: the win rate against it is SPPO's
# measure of progress (iteration i > 0; the policy of iteration i-1 is adapter i-2, or the base model).
rule selfplay_previous_policy:
    input:
        unpack(previous_policy_files),
        prompts=[rules.duel_prompts.output[0]],
    output:
        PLAN.pattern("previous_generations"),
    log:
        PLAN.log("selfplay_previous_policy"),
    benchmark:
        PLAN.benchmark("selfplay_previous_policy")
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=60,
    params:
        specs=lambda wc: [previous_policy_spec(wc.model, int(wc.i))],
        generation=config["generation"],
        device=config["device"],
        shards=1,
        seeds=lambda wc: {f"{wc.model}@previous": job_seed("selfplay_previous_policy", wc.i, wc.model)},
    script:
        "../workflow/scripts/generate.py"


rule selfplay_win_rates:
    input:
        matches=PLAN.pattern("matches"),
        judgments=signal_judgments,
    output:
        rates=PLAN.pattern("win_rates"),
        summary=PLAN.pattern("selfplay_summary"),
    log:
        PLAN.log("selfplay_win_rates"),
    benchmark:
        PLAN.benchmark("selfplay_win_rates")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        samples=config["generation"]["samples_per_prompt"],
    script:
        "../workflow/scripts/selfplay_win_rates.py"


rule selfplay_pairs:
    input:
        rates=rules.selfplay_win_rates.output.rates,
        generations=lambda wc: PLAN.generation_files(int(wc.i)),
        verifier=lambda wc: PLAN.judgment_files(int(wc.i), "verifier") if "verifier" in PLAN.judges else [],
        matches=PLAN.pattern("matches"),
        judgments=signal_judgments,
    output:
        pairs=[PLAN.pattern("pairs", model=m) for m in MODELS],
        stats=PLAN.pattern("pair_stats"),
    log:
        PLAN.log("selfplay_pairs"),
    benchmark:
        PLAN.benchmark("selfplay_pairs")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        models=MODELS,
        selfplay=config["selfplay"],
        samples=config["generation"]["samples_per_prompt"],
        seed=lambda wc: job_seed("selfplay_pairs", wc.i),
    script:
        "../workflow/scripts/selfplay_pairs.py"
