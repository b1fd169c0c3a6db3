# Figures for `snakemake --report`, drawn from files the run already wrote (no model is loaded). Each output marked
# with report() appears in the report under its category, with its caption from workflow/report/. Which figures a
# run builds by default is the plan's (Plan.figures).

REPORT_CAPTIONS = "../workflow/report"


# Light bookkeeping: on a cluster these run on the submit host instead of waiting for a node.
localrules:
    report_ratings,
    report_win_rates,
    report_accuracy,
    report_win_rate_vs_base,
    report_tournament,
    report_training,
    report_pairs,


ITERATIONS = range(PLAN.iterations)
# Who beats whom: selfplay reads each iteration's selfplay.json, tribe and debate the matches and signal verdicts.
SIGNAL_JUDGMENTS = [PLAN.judgment_files(i, SIGNAL) for i in ITERATIONS]
if PROTOCOL == "selfplay":
    WIN_RATE_INPUTS = {"summaries": [PLAN.path("selfplay_summary", i=i) for i in ITERATIONS]}
else:
    WIN_RATE_INPUTS = {
        "matches": [PLAN.path("matches", i=i) for i in ITERATIONS],
        "judgments": [f for files in SIGNAL_JUDGMENTS for f in files],
    }
# (iteration, model, adapter directory) of every training of the run.
TRAINED_ADAPTERS = [(i, m, PLAN.path("adapter", i=i, model=m)) for i in ITERATIONS for m in MODELS]


rule report_ratings:
    input:
        table=PLAN.pattern("trajectory"),
    output:
        report(
            PLAN.pattern("figure", figure="ratings_{scheme}"),
            caption=f"{REPORT_CAPTIONS}/ratings.rst",
            category="Ratings",
            subcategory="trajectories",
            labels={"figure": "rating trajectory", "scheme": "{scheme}"},
        ),
    log:
        PLAN.log("report_ratings"),
    benchmark:
        PLAN.benchmark("report_ratings")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/report_ratings.py"


rule report_win_rates:
    input:
        **WIN_RATE_INPUTS,
    output:
        report(
            PLAN.pattern("figure", figure="win_rates"),
            caption=f"{REPORT_CAPTIONS}/win_rates_{'selfplay' if PROTOCOL == 'selfplay' else 'duels'}.rst",
            category="Matches",
            subcategory="win rates",
            labels={"figure": "win rates"},
        ),
    log:
        PLAN.log("report_win_rates"),
    benchmark:
        PLAN.benchmark("report_win_rates")
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        protocol=PROTOCOL,
        models=MODELS,
        judgments=SIGNAL_JUDGMENTS,
    script:
        "../workflow/scripts/report_win_rates.py"


rule report_accuracy:
    input:
        evals=[PLAN.path("evaluation", i=i, model=m) for i in range(PLAN.iterations + 1) for m in MODELS],
    output:
        report(
            PLAN.pattern("figure", figure="accuracy"),
            caption=f"{REPORT_CAPTIONS}/accuracy.rst",
            category="Accuracy",
            subcategory="held-out",
            labels={"figure": "held-out accuracy"},
        ),
    log:
        PLAN.log("report_accuracy"),
    benchmark:
        PLAN.benchmark("report_accuracy")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/report_accuracy.py"


rule report_win_rate_vs_base:
    input:
        documents=[PLAN.path("win_rate_vs_base", i=i, model=m) for i in range(1, PLAN.iterations + 1) for m in MODELS],
    output:
        report(
            PLAN.pattern("figure", figure="win_rate_vs_base"),
            caption=f"{REPORT_CAPTIONS}/win_rate_vs_base.rst",
            category="Accuracy",
            subcategory="win rate vs base",
            labels={"figure": "win rate against iteration 0"},
        ),
    log:
        PLAN.log("report_win_rate_vs_base"),
    benchmark:
        PLAN.benchmark("report_win_rate_vs_base")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/report_win_rate_vs_base.py"


rule report_tournament:
    input:
        ratings=PLAN.pattern("tournament_ratings"),
        win_matrix=PLAN.pattern("tournament_win_matrix"),
        summary=PLAN.pattern("tournament_summary"),
    output:
        report(
            PLAN.pattern("figure", figure="tournament"),
            caption=f"{REPORT_CAPTIONS}/tournament.rst",
            category="Accuracy",
            subcategory="tournament",
            labels={"figure": "tournament of every checkpoint"},
        ),
    log:
        PLAN.log("report_tournament"),
    benchmark:
        PLAN.benchmark("report_tournament")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/report_tournament.py"


rule report_training:
    input:
        adapters=[directory for _, _, directory in TRAINED_ADAPTERS],
    output:
        report(
            PLAN.pattern("figure", figure="training"),
            caption=f"{REPORT_CAPTIONS}/training.rst",
            category="Training",
            subcategory="curves",
            labels={"figure": "training curves"},
        ),
    log:
        PLAN.log("report_training"),
    benchmark:
        PLAN.benchmark("report_training")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        adapters=TRAINED_ADAPTERS,
    script:
        "../workflow/scripts/report_training.py"


rule report_pairs:
    input:
        stats=[PLAN.path("pair_stats", i=i) for i in ITERATIONS],
    output:
        report(
            PLAN.pattern("figure", figure="pairs"),
            caption=f"{REPORT_CAPTIONS}/pairs.rst",
            category="Training",
            subcategory="pairs",
            labels={"figure": "pair statistics"},
        ),
    log:
        PLAN.log("report_pairs"),
    benchmark:
        PLAN.benchmark("report_pairs")
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/report_pairs.py"
