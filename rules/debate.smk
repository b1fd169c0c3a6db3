# Debate: two members argue for two candidate answers to each question, turn by turn, each speech sampled twice
# from the same transcript (the first continues it, the second is its branch); the signal judge reads the
# transcripts, and each debater trains on its speeches after which the judge favoured its side more.


rule debate_matches:
    input:
        prompts=rules.iteration_prompts.output[0],
    output:
        PLAN.pattern("matches"),
    log:
        PLAN.log("debate_matches"),
    benchmark:
        PLAN.benchmark("debate_matches")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        models=MODELS,
        seed=lambda wc: job_seed("debate_matches", wc.i),
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
        matches=PLAN.pattern("matches"),
        earlier=lambda wc: PLAN.speech_files(int(wc.i), range(int(wc.turn))),
    output:
        PLAN.pattern("speeches"),
    log:
        PLAN.log("debate_turn"),
    benchmark:
        PLAN.benchmark("debate_turn")
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=60,
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        generation=config["generation"],
        debate=config["debate"],
        device=config["device"],
        seed=lambda wc: job_seed("debate_turn", wc.i, wc.turn, wc.model),
    script:
        "../workflow/scripts/debate_turn.py"


rule debate_transcript:
    input:
        matches=PLAN.pattern("matches"),
        turns=lambda wc: PLAN.speech_files(int(wc.i), range(PLAN.turns)),
    output:
        transcript=PLAN.pattern("transcripts"),
        duels=PLAN.pattern("debate_duels"),
    log:
        PLAN.log("debate_transcript"),
    benchmark:
        PLAN.benchmark("debate_transcript")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        judge_reads_background=config["debate"]["judge_reads_background"],
    script:
        "../workflow/scripts/debate_transcript.py"


rule debate_outcomes:
    input:
        matches=PLAN.pattern("matches"),
        judgments=signal_judgments,
    output:
        PLAN.pattern("debate_outcomes"),
    log:
        PLAN.log("debate_outcomes"),
    benchmark:
        PLAN.benchmark("debate_outcomes")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/debate_outcomes.py"


rule debate_pairs:
    input:
        matches=PLAN.pattern("matches"),
        transcript=rules.debate_transcript.output.transcript,
        branches=lambda wc: PLAN.judgment_files(int(wc.i), SIGNAL, kind="branch_judgments"),
    output:
        pairs=[PLAN.pattern("pairs", model=m) for m in MODELS],
        stats=PLAN.pattern("pair_stats"),
    log:
        PLAN.log("debate_pairs"),
    benchmark:
        PLAN.benchmark("debate_pairs")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        models=MODELS,
        debate=config["debate"],
    script:
        "../workflow/scripts/debate_pairs.py"
