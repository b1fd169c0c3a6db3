"""The debate protocol end to end: a real Snakemake run of the micro debate config, started from the session's
embedded population; its report in a browser is in the slow lane (`pytest -m slow`)."""

import json

import pytest

from agon.contracts import DUELS, JUDGMENTS, MATCHES, PAIRS, TRANSCRIPT, read_table

from .testing_utils import (
    MICRO_DEBATE,
    REPO,
    REPORT_FIGURES,
    assert_every_figure_renders,
    assert_figures_drawn,
    render_report,
    snakemake,
)

MODELS = ["ada", "bix", "cyr"]


def test_debate_config_lints_clean():
    result = snakemake("--lint", "--configfile", str(MICRO_DEBATE), cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("iteration", [0, 1])
def test_debate_iteration_argues_judges_rates_and_trains(debate_run, iteration):
    _, out = debate_run
    it = out / f"iter_{iteration}"
    matches = read_table(it / "matches.parquet", MATCHES)
    assert len(matches) == 12 and (matches["model_a"] != matches["model_b"]).all()
    assert set(matches["correct"]) <= {"a", "b"} and (matches["answer_a"] != matches["answer_b"]).all()
    transcript = read_table(it / "transcripts.parquet", TRANSCRIPT)
    # one sequential round: A speaks at turn 0, B at turn 1, each speech sampled twice
    assert len(transcript) == 12 * 2 * 2 and set(transcript["alt"]) == {0, 1}
    speakers = transcript.merge(matches, on="match_id")
    assert (speakers["speaker"] == speakers["model_a"].where(speakers["side"] == "a", speakers["model_b"])).all()
    duels = read_table(it / "debate" / "duels.parquet", DUELS)
    assert len(duels) == 12 + len(transcript)  # the full transcripts, then one branch per speech
    for model in MODELS:
        # the third member judges each debate; a debater never judges its own
        peer = read_table(it / "judgments" / "peer" / f"{model}.parquet", JUDGMENTS)
        judged = matches.set_index("match_id").loc[peer["match_id"]]
        assert ((judged["model_a"] != model) & (judged["model_b"] != model)).all() and len(peer) > 0
        branches = read_table(it / "judgments" / "branches" / "peer" / f"{model}.parquet", JUDGMENTS)
        assert not branches["match_id"].isin(matches["match_id"]).any() and len(branches) > 0
        pairs = read_table(it / "pairs" / f"{model}.parquet", PAIRS)
        assert (pairs["chosen_model"] == model).all() and (pairs["chosen_favour"] > pairs["rejected_favour"]).all()
        metrics = json.loads((it / "adapters" / model / "train_metrics.json").read_text())
        assert metrics["pairs"] == len(pairs) and metrics["pairs_prompt_too_long"] == 0
    outcome = json.loads((it / "ratings" / "debate.json").read_text())
    assert outcome["debates"] == 12 and outcome["judged"] == 12 and 0 <= outcome["judge_accuracy"] <= 1
    assert set(outcome["debaters"]) == set(MODELS)
    ratings = json.loads((it / "ratings" / "bradley_terry.json").read_text())
    assert set(ratings["models"]) == set(MODELS) and ratings["duels"] == 12
    stats = json.loads((it / "pairs" / "stats.json").read_text())
    assert stats["candidates"] == 24 and stats["pairs"] == sum(stats["pairs_by_chosen_model"].values())
    audit = json.loads((it / "judgments" / "audit.json").read_text())
    assert {"peer/*", "verifier/verifier"} <= set(audit["judges"])


def test_debate_run_evaluates_every_iteration_and_is_complete(debate_run):
    root, out = debate_run
    for iteration in (0, 1, 2):
        for model in MODELS:
            report = json.loads((out / f"iter_{iteration}" / "eval" / f"{model}.json").read_text())
            assert report["iteration"] == iteration
    # the report's figures (the slow lane opens the report in a browser)
    figures = [f"report/{name}.png" for name in [*REPORT_FIGURES, "ratings_bradley_terry"]]
    figures += [f"iter_{i}/{f}" for i in (0, 1) for f in ("judgments/audit.png", "ratings/comparison.png")]
    assert_figures_drawn(out, figures)
    again = snakemake("--configfile", str(MICRO_DEBATE), cwd=root)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_debate_report_shows_every_figure_in_a_browser(debate_run, tmp_path):
    root, _ = debate_run
    report = tmp_path / "report.html"
    built = snakemake("--report", str(report), "--configfile", str(MICRO_DEBATE), cwd=root)
    assert built.returncode == 0, built.stderr[-3000:]
    figures = [f"results/micro_debate/report/{name}.png" for name in [*REPORT_FIGURES, "ratings_bradley_terry"]]
    figures += [
        f"results/micro_debate/iter_{i}/{f}" for i in (0, 1) for f in ("judgments/audit.png", "ratings/comparison.png")
    ]
    probe = render_report(report, "micro_debate", tmp_path)
    assert_every_figure_renders(probe, figures, {"Accuracy", "Judges", "Matches", "Ratings", "Training"})
