# Preference pairs of the iteration, weighted by the judges' ratings under rating.scheme.


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    pairs,


rule pairs:
    input:
        matches=MATCHES_FILE,
        judgments=lambda wc: judgment_files(wc.i, JUDGING["signal"]),
        generations=lambda wc: generation_files(wc.i),
        ratings=f"results/{{run}}/iter_{{i}}/ratings/{SCHEME}.json",
    output:
        pairs=expand("results/{{run}}/iter_{{i}}/pairs/{model}.parquet", model=MODELS),
        stats="results/{run}/iter_{i}/pairs/stats.json",
    log:
        "results/{run}/logs/pairs/iter_{i}.log",
    benchmark:
        "results/{run}/benchmarks/pairs/iter_{i}.tsv"
    params:
        models=MODELS,
        pairs=config["pairs"],
        evaluator=EVALUATOR,
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/pairs.py"
