# Every judge of judging.judges on the duels: judging.shards jobs per juror of a member judge (peer, logprob) and
# per external judge, each judging one block of the duels, gathered into the juror's table; one job for the cheap
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
        unpack(inference_inputs),
    output:
        **shard_outputs(),
    log:
        PLAN.log("judge_by_member"),
    benchmark:
        PLAN.benchmark("judge_by_member")
    wildcard_constraints:
        judge=names(MEMBER_METHODS),
        juror=names(MODELS),
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=reader_gpus(judge_reads),
        mem_mb=8000,
        runtime=60,
    params:
        spec=lambda wc: model_spec(wc.juror, int(wc.i)),
        judging=member_judging(),
        evaluator=EVALUATOR,
        device=config["device"],
        # Peers that answer the prompt (reference, score modes) generate with the run's backend.
        generation={key: config["generation"][key] for key in ("backend", "vllm")},
        shards=PLAN.judge_shards,
    script:
        "../workflow/scripts/judge.py"


rule gather_member_judgments:
    input:
        unpack(every_judge_shard),
    output:
        **verdict_patterns("judgments"),
    log:
        PLAN.log("gather_member_judgments"),
    benchmark:
        PLAN.benchmark("gather_member_judgments")
    wildcard_constraints:
        judge=names(MEMBER_METHODS),
        juror=names(MODELS),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/gather_judgments.py"


rule judge_by_verifier:
    input:
        unpack(judge_inputs),
    output:
        **verdict_patterns("judgments", judge="verifier", juror="verifier"),
    log:
        PLAN.log("judge_by_verifier"),
    benchmark:
        PLAN.benchmark("judge_by_verifier")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=None,
        judging={},
        evaluator=EVALUATOR,
        device="cpu",
        # Cheap and CPU-only: one job judges every duel.
        shards=1,
    script:
        "../workflow/scripts/judge.py"


rule judge_by_external:
    input:
        unpack(judge_inputs),
    output:
        **shard_outputs(juror="{judge}"),
    log:
        PLAN.log("judge_by_external"),
    benchmark:
        PLAN.benchmark("judge_by_external")
    wildcard_constraints:
        judge=names(EXTERNAL),
    conda:
        ENV
    threads: 1
    resources:
        gpu=lambda wc: 0 if EXTERNAL[wc.judge]["method"] == "api" else gpus(),
        mem_mb=8000,
        runtime=60,
    params:
        judge=lambda wc: EXTERNAL[wc.judge],
        device=config["device"],
        # API replies are kept by request hash, so a re-run or a resumed job does not pay for them twice.
        cache=lambda wc: PLAN.path("cache", judge=wc.judge),
        shards=PLAN.judge_shards,
    script:
        "../workflow/scripts/judge_external.py"


rule gather_external_judgments:
    input:
        unpack(every_judge_shard),
    output:
        **verdict_patterns("judgments", juror="{judge}"),
    log:
        PLAN.log("gather_external_judgments"),
    benchmark:
        PLAN.benchmark("gather_external_judgments")
    wildcard_constraints:
        judge=names(EXTERNAL),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/gather_judgments.py"


rule judge_audit:
    input:
        unpack(judge_inputs),
        judgments=lambda wc: PLAN.iteration_judgments(int(wc.i)),
    output:
        json=PLAN.pattern("audit"),
        png=report(
            PLAN.pattern("audit_figure"),
            caption="../workflow/report/audit.rst",
            category="Judges",
            subcategory="audit",
            labels={"figure": "judge audit", "iteration": "{i}"},
        ),
    log:
        PLAN.log("judge_audit"),
    benchmark:
        PLAN.benchmark("judge_audit")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        family=family_of(),
    script:
        "../workflow/scripts/judge_audit.py"


rule judge_agreement:
    input:
        matches=PLAN.pattern("matches"),
        verifier=rules.judge_by_verifier.output.judgments,
        judgments=lambda wc: [f for judge in PLAN.member_judges for f in PLAN.judgment_files(int(wc.i), judge)],
    output:
        PLAN.pattern("agreement"),
    log:
        PLAN.log("judge_agreement"),
    benchmark:
        PLAN.benchmark("judge_agreement")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        paths=lambda wc: {judge: PLAN.judgment_files(int(wc.i), judge) for judge in PLAN.member_judges},
    script:
        "../workflow/scripts/judge_agreement.py"
