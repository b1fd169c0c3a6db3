# Every configured judge on the duels: judging.shards jobs per member judge (peer, logprob) and per judge outside
# the population, each judging one block of the duels, gathered into the judge's table; one job for the cheap
# verifier. Each job sees only its own settings, so adding a judge re-runs no other one.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    judge_by_verifier,
    gather_member_judgments,
    gather_external_judgments,
    judge_agreement,
    judge_audit,


rule judge_by_member:
    input:
        unpack(model_files),
        unpack(judge_inputs),
    output:
        **judge_shard_files("{method}", "{model}"),
    log:
        "results/{run}/logs/judge/iter_{i}/{method}/{model}/{shard}.log",
    benchmark:
        "results/{run}/benchmarks/judge/iter_{i}/{method}/{model}/{shard}.tsv"
    wildcard_constraints:
        method="peer|logprob",
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        judging={key: JUDGING[key] for key in ("peer_mode", "batch_size", "max_new_tokens")},
        evaluator=EVALUATOR,
        device=config["device"],
        # Peers that answer the prompt (reference, score modes) generate with the run's backend.
        generation={key: config["generation"][key] for key in ("backend", "vllm")},
        shards=JUDGE_SHARDS,
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=60,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/judge.py"


rule gather_member_judgments:
    input:
        unpack(every_judge_shard("{method}", "{model}")),
    output:
        **judge_files("{method}/{model}"),
    log:
        "results/{run}/logs/gather_judgments/iter_{i}/{method}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/gather_judgments/iter_{i}/{method}/{model}.tsv"
    wildcard_constraints:
        method="peer|logprob",
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/gather_judgments.py"


rule judge_by_verifier:
    input:
        unpack(judge_inputs),
    output:
        **judge_files("verifier/verifier"),
    log:
        "results/{run}/logs/judge/iter_{i}/verifier.log",
    benchmark:
        "results/{run}/benchmarks/judge/iter_{i}/verifier.tsv"
    params:
        spec=None,
        judging={},
        evaluator=EVALUATOR,
        device="cpu",
        # Cheap and CPU-only: one job judges every duel.
        shards=1,
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/judge.py"


rule judge_by_external:
    input:
        unpack(judge_inputs),
    output:
        **judge_shard_files("{external}", "{external}"),
    log:
        "results/{run}/logs/judge/iter_{i}/{external}/{shard}.log",
    benchmark:
        "results/{run}/benchmarks/judge/iter_{i}/{external}/{shard}.tsv"
    params:
        judge=lambda wc: EXTERNAL[wc.external],
        device=config["device"],
        # API replies are kept by request hash, so a re-run or a resumed job does not pay for them twice.
        cache=lambda wc: f"results/{RUN}/cache/{wc.external}",
        shards=JUDGE_SHARDS,
    threads: 1
    resources:
        gpu=lambda wc: 0 if EXTERNAL[wc.external]["method"] == "api" else gpus(),
        mem_mb=8000,
        runtime=60,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/judge_external.py"


rule gather_external_judgments:
    input:
        unpack(every_judge_shard("{external}", "{external}")),
    output:
        **judge_files("{external}/{external}"),
    log:
        "results/{run}/logs/gather_judgments/iter_{i}/{external}.log",
    benchmark:
        "results/{run}/benchmarks/gather_judgments/iter_{i}/{external}.tsv"
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/gather_judgments.py"


rule judge_audit:
    input:
        unpack(judge_inputs),
        judgments=lambda wc: all_judgment_files(wc.i),
    output:
        json="results/{run}/iter_{i}/judgments/audit.json",
        png=report(
            "results/{run}/iter_{i}/judgments/audit.png",
            caption="../workflow/report/audit.rst",
            category="Judges",
            subcategory="audit",
            labels={"figure": "judge audit", "iteration": "{i}"},
        ),
    log:
        "results/{run}/logs/judge_audit/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/judge_audit/iter_{i}.tsv"
    params:
        family=family_of(),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/judge_audit.py"


rule judge_agreement:
    input:
        matches=MATCHES_FILE,
        verifier=rules.judge_by_verifier.output.judgments,
        judgments=lambda wc: [f for method in MEMBER_JUDGES for f in judgment_files(wc.i, method)],
    output:
        "results/{run}/iter_{i}/judgments/agreement.json",
    log:
        "results/{run}/logs/judge_agreement/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/judge_agreement/iter_{i}.tsv"
    params:
        paths=lambda wc: {method: judgment_files(wc.i, method) for method in MEMBER_JUDGES},
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/judge_agreement.py"
