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
        MATCHES_FILE,
    log:
        "results/{run}/logs/selfplay_matches/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/selfplay_matches/iter_{i}.tsv"
    params:
        models=MODELS,
        samples=config["generation"]["samples_per_prompt"],
        previous=lambda wc: int(wc.i) > 0,
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/selfplay_matches.py"


# The previous iteration's policy answers this iteration's prompts too: the win rate against it is SPPO's
# measure of progress (iteration i > 0; the policy of iteration i-1 is adapter i-2, or the base model).
rule selfplay_previous_policy:
    input:
        unpack(previous_policy_files),
        prompts=[rules.duel_prompts.output[0]],
    output:
        "results/{run}/iter_{i}/generations/previous/{model}.parquet",
    log:
        "results/{run}/logs/selfplay_previous_policy/iter_{i}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/selfplay_previous_policy/iter_{i}/{model}.tsv"
    params:
        specs=lambda wc: [previous_policy_spec(wc.model, int(wc.i))],
        generation=config["generation"],
        device=config["device"],
        shards=1,
        seeds=lambda wc: {f"{wc.model}@previous": job_seed("selfplay_previous_policy", wc.i, wc.model)},
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=60,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/generate.py"


rule selfplay_win_rates:
    input:
        matches=MATCHES_FILE,
        judgments=lambda wc: judgment_files(wc.i, JUDGING["signal"]),
    output:
        rates="results/{run}/iter_{i}/ratings/win_rates.parquet",
        summary="results/{run}/iter_{i}/ratings/selfplay.json",
    log:
        "results/{run}/logs/selfplay_win_rates/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/selfplay_win_rates/iter_{i}.tsv"
    params:
        samples=config["generation"]["samples_per_prompt"],
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/selfplay_win_rates.py"


rule selfplay_pairs:
    input:
        rates=rules.selfplay_win_rates.output.rates,
        generations=lambda wc: generation_files(wc.i),
        verifier=lambda wc: judgment_files(wc.i, "verifier") if "verifier" in JUDGING["judges"] else [],
        matches=MATCHES_FILE,
    output:
        pairs=expand("results/{{run}}/iter_{{i}}/pairs/{model}.parquet", model=MODELS),
        stats="results/{run}/iter_{i}/pairs/stats.json",
    log:
        "results/{run}/logs/selfplay_pairs/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/selfplay_pairs/iter_{i}.tsv"
    params:
        models=MODELS,
        selfplay=config["selfplay"],
        seed=lambda wc: job_seed("selfplay_pairs", wc.i),
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/selfplay_pairs.py"
