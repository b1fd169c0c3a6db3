# The tournament of every checkpoint: each member at iterations 0..N in one round robin on held-out prompts, judged
# by tournament.judge, from the greedy answers the evaluate jobs keep (agon.tournament, docs/tournament.md).

TOURNAMENT_JUDGE = PLAN.tournament_judge


rule tournament:
    input:
        **PLAN.tournament_inputs(),
        heldout=rules.task_splits.output.heldout,
    output:
        judgments=PLAN.pattern("tournament_judgments"),
        ratings=PLAN.pattern("tournament_ratings"),
        win_matrix=PLAN.pattern("tournament_win_matrix"),
        summary=PLAN.pattern("tournament_summary"),
    log:
        PLAN.log("tournament"),
    benchmark:
        PLAN.benchmark("tournament")
    conda:
        ENV
    threads: config["threads"]
    resources:
        # A verifier or an api judge loads no model.
        gpu=0 if checker_or_api(TOURNAMENT_JUDGE) else gpus(),
        mem_mb=8000,
        runtime=60,
    params:
        checkpoints=[list(checkpoint) for checkpoint in PLAN.checkpoints],
        prompts=PLAN.tournament_prompts,
        panel=panel_params(TOURNAMENT_JUDGE, PLAN.tournament_jurors()),
        # The run's Bradley-Terry settings; an anchor names a member, not a checkpoint, and one round robin has
        # nothing to accumulate.
        rating={**config["rating"]["bradley_terry"], "anchor": None, "accumulate": False},
        seed=job_seed("tournament"),
    script:
        "../workflow/scripts/tournament.py"
