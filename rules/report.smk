# Figures for `snakemake --report`, drawn from files the run already wrote (no model is loaded). Each output marked
# with report() appears in the report under its category, with its caption from workflow/report/.

REPORT_CAPTIONS = "../workflow/report"


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    report_ratings,
    report_win_rates,
    report_accuracy,
    report_training,
    report_pairs,


# The report's figures that `snakemake` builds by default (all_outputs): every figure the protocol has, and the
# rating trajectory of rating.scheme only (another scheme's on request: report/ratings_<scheme>.png).
REPORT_FILES = [f"results/{RUN}/report/accuracy.png"]
if ITERATIONS:
    REPORT_FILES += [f"results/{RUN}/report/{name}.png" for name in ("win_rates", "training", "pairs")]
if ITERATIONS and PROTOCOL != "selfplay":
    REPORT_FILES.append(f"results/{RUN}/report/ratings_{SCHEME}.png")

# Who beats whom: selfplay reads each iteration's selfplay.json, tribe and debate the matches and signal verdicts.
SIGNAL_JUDGMENTS = [judgment_files(i, JUDGING["signal"]) for i in range(ITERATIONS)]
if PROTOCOL == "selfplay":
    WIN_RATE_INPUTS = {"summaries": [f"results/{RUN}/iter_{i}/ratings/selfplay.json" for i in range(ITERATIONS)]}
else:
    WIN_RATE_INPUTS = {
        "matches": [f"results/{RUN}/iter_{i}/matches.parquet" for i in range(ITERATIONS)],
        "judgments": [f for files in SIGNAL_JUDGMENTS for f in files],
    }

# (iteration, model, adapter directory) of every training of the run.
TRAINED_ADAPTERS = [(i, m, adapter_dir(m, i)) for i in range(ITERATIONS) for m in MODELS]


rule report_ratings:
    input:
        table="results/{run}/ratings/{scheme}.tsv",
    output:
        report(
            "results/{run}/report/ratings_{scheme}.png",
            caption=f"{REPORT_CAPTIONS}/ratings.rst",
            category="Ratings",
            subcategory="trajectories",
            labels={"figure": "rating trajectory", "scheme": "{scheme}"},
        ),
    log:
        "results/{run}/logs/report/ratings_{scheme}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/report_ratings.py"


rule report_win_rates:
    input:
        **WIN_RATE_INPUTS,
    output:
        report(
            "results/{run}/report/win_rates.png",
            caption=f"{REPORT_CAPTIONS}/win_rates_{'selfplay' if PROTOCOL == 'selfplay' else 'duels'}.rst",
            category="Matches",
            subcategory="win rates",
            labels={"figure": "win rates"},
        ),
    log:
        "results/{run}/logs/report/win_rates.log",
    params:
        protocol=PROTOCOL,
        models=MODELS,
        judgments=SIGNAL_JUDGMENTS,
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/report_win_rates.py"


rule report_accuracy:
    input:
        evals=[f"results/{RUN}/iter_{i}/eval/{m}.json" for i in range(ITERATIONS + 1) for m in MODELS],
    output:
        report(
            "results/{run}/report/accuracy.png",
            caption=f"{REPORT_CAPTIONS}/accuracy.rst",
            category="Accuracy",
            subcategory="held-out",
            labels={"figure": "held-out accuracy"},
        ),
    log:
        "results/{run}/logs/report/accuracy.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/report_accuracy.py"


rule report_training:
    input:
        adapters=[directory for _, _, directory in TRAINED_ADAPTERS],
    output:
        report(
            "results/{run}/report/training.png",
            caption=f"{REPORT_CAPTIONS}/training.rst",
            category="Training",
            subcategory="curves",
            labels={"figure": "training curves"},
        ),
    log:
        "results/{run}/logs/report/training.log",
    params:
        adapters=TRAINED_ADAPTERS,
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/report_training.py"


rule report_pairs:
    input:
        stats=[f"results/{RUN}/iter_{i}/pairs/stats.json" for i in range(ITERATIONS)],
    output:
        report(
            "results/{run}/report/pairs.png",
            caption=f"{REPORT_CAPTIONS}/pairs.rst",
            category="Training",
            subcategory="pairs",
            labels={"figure": "pair statistics"},
        ),
    log:
        "results/{run}/logs/report/pairs.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../workflow/envs/agon.yaml"
    script:
        "../workflow/scripts/report_pairs.py"
