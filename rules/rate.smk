# Ratings from the signal judge's verdicts, continuing from the previous iteration's ratings of the same scheme.


rule rate:
    input:
        unpack(previous_ratings),
        matches=rules.schedule.output[0],
        judgments=lambda wc: judgment_files(wc.i, JUDGING["signal"]),
    output:
        "results/{run}/iter_{i}/ratings/{scheme}.json",
    log:
        "results/{run}/logs/rate/iter_{i}/{scheme}.log",
    benchmark:
        "results/{run}/benchmarks/rate/iter_{i}/{scheme}.tsv"
    params:
        params=lambda wc: config["rating"][wc.scheme],
        models=MODELS,
        seed=lambda wc: job_seed("rate", wc.i, wc.scheme),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/rate.py"
