# Held-out accuracy of every model at every iteration (iteration 0: the initial population), and, where the plan
# has an evaluation judge, each model's win rate against its iteration-0 self (iterations 1..N).

# The evaluate jobs keep their greedy held-out answers only for the win rate against the base and the tournament.
HELDOUT_ANSWERS = {"answers": PLAN.pattern("heldout_answers")} if PLAN.heldout_answers else {}
EVALUATION_JUDGE = PLAN.evaluation_judge


rule evaluate:
    input:
        unpack(model_files),
        unpack(inference_inputs),
        heldout=rules.task_splits.output.heldout,
    output:
        PLAN.pattern("evaluation"),
        **HELDOUT_ANSWERS,
    log:
        PLAN.log("evaluate"),
    benchmark:
        PLAN.benchmark("evaluate")
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=reader_gpus(evaluate_reads),
        mem_mb=8000,
        runtime=30,
    params:
        spec=lambda wc: model_spec(wc.model, int(wc.i)),
        evaluation=evaluation_settings(),
        evaluator=EVALUATOR,
        backend=config["generation"]["backend"],
        engine=config["generation"]["vllm"],
        device=config["device"],
        seed=evaluate_seed,
    script:
        "../workflow/scripts/evaluate.py"


rule evaluate_vs_base:
    input:
        unpack(lambda wc: PLAN.vs_base_inputs(int(wc.i))),
        heldout=rules.task_splits.output.heldout,
    output:
        documents=[PLAN.pattern("win_rate_vs_base", model=m) for m in MODELS],
        judgments=PLAN.pattern("vs_base_judgments"),
    log:
        PLAN.log("evaluate_vs_base"),
    benchmark:
        PLAN.benchmark("evaluate_vs_base")
    wildcard_constraints:
        i=r"[1-9]\d*",
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=0 if checker_or_api(EVALUATION_JUDGE) else gpus(),
        mem_mb=8000,
        runtime=60,
    params:
        models=MODELS,
        panel=panel_params(EVALUATION_JUDGE, PLAN.vs_base_jurors()),
    script:
        "../workflow/scripts/evaluate_vs_base.py"
