# Ratings from the signal judge's verdicts, continuing from the previous iteration's ratings of the same scheme.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    rate,
    compare_schemes,
    rating_trajectory,
    rate_by_judge,


rule rate:
    input:
        unpack(previous_ratings),
        unpack(previous_audit),
        matches=PLAN.pattern("matches"),
        judgments=signal_judgments,
    output:
        PLAN.pattern("ratings"),
    log:
        PLAN.log("rate"),
    benchmark:
        PLAN.benchmark("rate")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        params=lambda wc: config["rating"][wc.scheme],
        weighting=config["rating"]["judge_weighting"],
        tie_band=config["rating"]["tie_band"],
        models=MODELS,
        seed=lambda wc: job_seed("rate", wc.i, wc.scheme),
    script:
        "../workflow/scripts/rate.py"


# Offline re-judging: the ratings any judge's verdicts give, beside the signal's, from its judgments on disk (the
# input functions read the judge from the wildcard).
use rule rate as rate_by_judge with:
    output:
        PLAN.pattern("ratings_by_judge"),
    log:
        PLAN.log("rate_by_judge"),
    benchmark:
        PLAN.benchmark("rate_by_judge")


rule compare_schemes:
    input:
        matches=PLAN.pattern("matches"),
        judgments=signal_judgments,
    output:
        json=PLAN.pattern("comparison"),
        png=report(
            PLAN.pattern("comparison_figure"),
            caption="../workflow/report/comparison.rst",
            category="Ratings",
            subcategory="scheme comparison",
            labels={"figure": "scheme comparison", "iteration": "{i}"},
        ),
    log:
        PLAN.log("compare_schemes"),
    benchmark:
        PLAN.benchmark("compare_schemes")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        schemes={scheme: config["rating"][scheme] for scheme in RATING_SCHEMES},
        models=MODELS,
        seed=lambda wc: job_seed("compare_schemes", wc.i),
    script:
        "../workflow/scripts/compare_schemes.py"


# Ratings beside the held-out accuracy of the models that played each iteration, and their rank correlation.
rule rating_trajectory:
    input:
        ratings=lambda wc: [PLAN.path("ratings", i=i, scheme=wc.scheme) for i in range(PLAN.iterations)],
        evals=[PLAN.path("evaluation", i=i, model=m) for i in range(PLAN.iterations) for m in MODELS],
    output:
        table=PLAN.pattern("trajectory"),
        health=PLAN.pattern("health"),
    log:
        PLAN.log("rating_trajectory"),
    benchmark:
        PLAN.benchmark("rating_trajectory")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/rating_trajectory.py"
