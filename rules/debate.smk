# Debate: two members argue for two candidate answers to each question, turn by turn, each speech sampled twice
# from the same transcript (the first continues it, the second is its branch); the signal judge reads the
# transcripts, and each debater trains on its speeches after which the judge favoured its side more.

rule debate_matches:
    input:
        prompts=rules.iteration_prompts.output[0],
    output:
        MATCHES_FILE,
    log:
        "results/{run}/logs/debate_matches/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/debate_matches/iter_{i}.tsv"
    params:
        models=MODELS,
        seed=lambda wc: job_seed("debate_matches", wc.i),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/debate_matches.py"


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    debate_matches,
    debate_transcript,
    debate_outcomes,
    debate_pairs,


rule debate_turn:
    input:
        unpack(model_files),
        matches=MATCHES_FILE,
        earlier=lambda wc: turn_files(wc.i, range(int(wc.turn))),
    output:
        "results/{run}/iter_{i}/debate/turn_{turn}/{model}.parquet",
    log:
        "results/{run}/logs/debate_turn/iter_{i}/turn_{turn}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/debate_turn/iter_{i}/turn_{turn}/{model}.tsv"
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        generation=config["generation"],
        debate=DEBATE,
        device=config["device"],
        seed=lambda wc: job_seed("debate_turn", wc.i, wc.turn, wc.model),
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=60,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/debate_turn.py"


rule debate_transcript:
    input:
        matches=MATCHES_FILE,
        turns=lambda wc: turn_files(wc.i, range(TURNS)),
    output:
        transcript="results/{run}/iter_{i}/transcripts.parquet",
        duels="results/{run}/iter_{i}/debate/duels.parquet",
    log:
        "results/{run}/logs/debate_transcript/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/debate_transcript/iter_{i}.tsv"
    params:
        judge_reads_background=DEBATE["judge_reads_background"],
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/debate_transcript.py"


rule debate_outcomes:
    input:
        matches=MATCHES_FILE,
        judgments=lambda wc: judgment_files(wc.i, JUDGING["signal"]),
    output:
        "results/{run}/iter_{i}/ratings/debate.json",
    log:
        "results/{run}/logs/debate_outcomes/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/debate_outcomes/iter_{i}.tsv"
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/debate_outcomes.py"


rule debate_pairs:
    input:
        matches=MATCHES_FILE,
        transcript=rules.debate_transcript.output.transcript,
        branches=lambda wc: [
            f"results/{RUN}/iter_{wc.i}/judgments/branches/{JUDGING['signal']}/{judge}.parquet"
            for judge in judges_of(JUDGING["signal"])
        ],
    output:
        pairs=expand("results/{{run}}/iter_{{i}}/pairs/{model}.parquet", model=MODELS),
        stats="results/{run}/iter_{i}/pairs/stats.json",
    log:
        "results/{run}/logs/debate_pairs/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/debate_pairs/iter_{i}.tsv"
    params:
        models=MODELS,
        debate=DEBATE,
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/debate_pairs.py"
