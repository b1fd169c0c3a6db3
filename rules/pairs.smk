# Preference pairs of the iteration, weighted by the judges' ratings under rating.scheme.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    pairs,


rule pairs:
    input:
        matches=PLAN.pattern("matches"),
        judgments=signal_judgments,
        generations=lambda wc: PLAN.generation_files(int(wc.i)),
        ratings=PLAN.pattern("ratings", scheme=PLAN.scheme),
    output:
        pairs=[PLAN.pattern("pairs", model=m) for m in MODELS],
        stats=PLAN.pattern("pair_stats"),
    log:
        PLAN.log("pairs"),
    benchmark:
        PLAN.benchmark("pairs")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        models=MODELS,
        pairs=config["pairs"],
        evaluator=EVALUATOR,
    script:
        "../workflow/scripts/pairs.py"
