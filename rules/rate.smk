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
        matches=MATCHES_FILE,
        judgments=lambda wc: judgment_files(wc.i, JUDGING["signal"]),
    output:
        "results/{run}/iter_{i}/ratings/{scheme}.json",
    log:
        "results/{run}/logs/rate/iter_{i}/{scheme}.log",
    benchmark:
        "results/{run}/benchmarks/rate/iter_{i}/{scheme}.tsv"
    params:
        params=lambda wc: config["rating"][wc.scheme],
        weighting=config["rating"]["judge_weighting"],
        models=MODELS,
        seed=lambda wc: job_seed("rate", wc.i, wc.scheme),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/rate.py"


rule compare_schemes:
    input:
        matches=MATCHES_FILE,
        judgments=lambda wc: judgment_files(wc.i, JUDGING["signal"]),
    output:
        json="results/{run}/iter_{i}/ratings/comparison.json",
        png=report(
            "results/{run}/iter_{i}/ratings/comparison.png",
            caption="../workflow/report/comparison.rst",
            category="Ratings",
            subcategory="scheme comparison",
            labels={"figure": "scheme comparison", "iteration": "{i}"},
        ),
    log:
        "results/{run}/logs/compare_schemes/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/compare_schemes/iter_{i}.tsv"
    params:
        schemes={scheme: config["rating"][scheme] for scheme in RATING_SCHEMES},
        models=MODELS,
        seed=lambda wc: job_seed("compare_schemes", wc.i),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/compare_schemes.py"


# Ratings beside the held-out accuracy of the models that played each iteration, and their rank correlation.
rule rating_trajectory:
    input:
        ratings=lambda wc: [f"results/{RUN}/iter_{i}/ratings/{wc.scheme}.json" for i in range(ITERATIONS)],
        evals=[f"results/{RUN}/iter_{i}/eval/{m}.json" for i in range(ITERATIONS) for m in MODELS],
    output:
        table="results/{run}/ratings/{scheme}.tsv",
        health="results/{run}/ratings/{scheme}_health.tsv",
    log:
        "results/{run}/logs/rating_trajectory/{scheme}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/rating_trajectory.py"


# Offline re-judging: the ratings any judge's verdicts give, beside the signal's, from its judgments on disk.
rule rate_by_judge:
    input:
        unpack(lambda wc: previous_ratings(wc, f"by_{wc.judge}/")),
        unpack(previous_audit),
        matches=MATCHES_FILE,
        judgments=lambda wc: judgment_files(wc.i, wc.judge),
    output:
        "results/{run}/iter_{i}/ratings/by_{judge}/{scheme}.json",
    log:
        "results/{run}/logs/rate/iter_{i}/by_{judge}/{scheme}.log",
    benchmark:
        "results/{run}/benchmarks/rate/iter_{i}/by_{judge}/{scheme}.tsv"
    params:
        params=lambda wc: config["rating"][wc.scheme],
        weighting=config["rating"]["judge_weighting"],
        models=MODELS,
        seed=lambda wc: job_seed("rate", wc.i, wc.scheme),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/rate.py"
