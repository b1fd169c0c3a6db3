# Every configured judge on the duels: one job per member judge (peer, logprob), one for the verifier.


rule judge_by_member:
    input:
        unpack(model_files),
        matches=rules.schedule.output[0],
        generations=lambda wc: generation_files(wc.i),
    output:
        "results/{run}/iter_{i}/judgments/{method}/{model}.parquet",
    log:
        "results/{run}/logs/judge/iter_{i}/{method}/{model}.log",
    benchmark:
        "results/{run}/benchmarks/judge/iter_{i}/{method}/{model}.tsv"
    wildcard_constraints:
        method="peer|logprob",
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        judging=JUDGING,
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
        matches=rules.schedule.output[0],
        generations=lambda wc: generation_files(wc.i),
    output:
        "results/{run}/iter_{i}/judgments/verifier/verifier.parquet",
    log:
        "results/{run}/logs/judge/iter_{i}/verifier.log",
    benchmark:
        "results/{run}/benchmarks/judge/iter_{i}/verifier.tsv"
    params:
        spec=None,
        judging=JUDGING,
        task=config["task"]["name"],
        device="cpu",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/judge.py"


rule judge_agreement:
    input:
        matches=rules.schedule.output[0],
        verifier=rules.judge_by_verifier.output[0],
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
