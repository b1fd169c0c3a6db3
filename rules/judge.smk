# Every configured judge on the duels: one job per member judge (peer, logprob), one for the verifier, one per
# judge outside the population. Each job sees only its own settings, so adding a judge re-runs no other one.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    judge_by_verifier,
    judge_agreement,
    judge_audit,


rule judge_by_member:
    input:
        unpack(model_files),
        unpack(judge_inputs),
    output:
        judgments="results/{run}/iter_{i}/judgments/{method}/{model}.parquet",
        **branch_output("{method}/{model}"),
    log:
        "results/{run}/logs/judge/iter_{i}/{method}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/judge/iter_{i}/{method}/{model}.tsv"
    wildcard_constraints:
        method="peer|logprob",
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        judging={key: JUDGING[key] for key in ("peer_mode", "batch_size", "max_new_tokens")},
        task=config["task"]["name"],
        device=config["device"],
    threads: config["threads"]
    resources:
        gpu=gpus(),
        mem_mb=8000,
        runtime=60,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/judge.py"


rule judge_by_verifier:
    input:
        unpack(judge_inputs),
    output:
        judgments="results/{run}/iter_{i}/judgments/verifier/verifier.parquet",
        **branch_output("verifier/verifier"),
    log:
        "results/{run}/logs/judge/iter_{i}/verifier.log",
    benchmark:
        "results/{run}/benchmarks/judge/iter_{i}/verifier.tsv"
    params:
        spec=None,
        judging={},
        task=config["task"]["name"],
        device="cpu",
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
        judgments="results/{run}/iter_{i}/judgments/{external}/{external}.parquet",
        **branch_output("{external}/{external}"),
    log:
        "results/{run}/logs/judge/iter_{i}/{external}.log",
    benchmark:
        "results/{run}/benchmarks/judge/iter_{i}/{external}.tsv"
    params:
        judge=lambda wc: EXTERNAL[wc.external],
        device=config["device"],
        # API replies are kept by request hash, so a re-run or a resumed job does not pay for them twice.
        cache=lambda wc: f"results/{RUN}/cache/{wc.external}",
    threads: 1
    resources:
        gpu=lambda wc: 0 if EXTERNAL[wc.external]["method"] == "api" else gpus(),
        mem_mb=8000,
        runtime=60,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/judge_external.py"


rule judge_audit:
    input:
        unpack(judge_inputs),
        judgments=lambda wc: all_judgment_files(wc.i),
    output:
        json="results/{run}/iter_{i}/judgments/audit.json",
        png="results/{run}/iter_{i}/judgments/audit.png",
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
