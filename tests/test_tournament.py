"""The tournament of every checkpoint (agon.tournament): its intransitivity measures on hand-worked win matrices,
the win matrix and head-to-head on a hand-made round robin, the config and the plan, and a real run on a finished
micro run."""

import json
import math
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from agon.config import ConfigError, load_config, load_schema, validate_config
from agon.contracts import JUDGMENTS, PROMPTS, TOURNAMENT, read_document, read_table, write_table
from agon.evaluation import Panel
from agon.plan import Plan, checkpoint_name, file
from agon.ratings import BradleyTerryConfig
from agon.tournament import (
    cyclic_triads,
    nontransitive_share,
    tournament_matches,
    win_shares,
    write_tournament,
)

from .testing_utils import MICRO, REPO, SCHEMA_PATH, generations_table, jobs_run, snakemake

SCHEMA = load_schema(SCHEMA_PATH)
# What the jurors are built with (the rule's params).
JUDGING = {"peer_mode": "reference", "batch_size": 8, "max_new_tokens": 8}
GENERATION = {"backend": "hf", "vllm": {}}
# The real run's override: the verifier, on 6 held-out prompts.
TOURNAMENT_ON = "tournament={enabled: true, judge: verifier, prompts: 6}"


def matrix(*rows: tuple[str, str, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(wins, games) of checkpoints a, b, c from (row, column, row's wins with ties as half, decided duels)."""
    index = {"a": 0, "b": 1, "c": 2}
    wins, games = np.zeros((3, 3)), np.zeros((3, 3))
    for r, c, won, n in rows:
        wins[index[r], index[c]], wins[index[c], index[r]] = won, n - won
        games[index[r], index[c]] = games[index[c], index[r]] = n
    return wins, games


# --- intransitivity, hand-worked ----------------------------------------------------------------------------------


def test_a_transitive_matrix_has_no_cycle_and_no_nontransitive_flow():
    """Nine duels per pair. a beats b 7-2 and b beats c 7-2: smoothed (7 + 0.5) / 10 = 0.75, logit ln 3 each.
    a beats c 8 wins, 1 tie, 0 losses: (8 + 0.5 + 0.5) / 10 = 0.9, logit ln 9 = 2 ln 3 = ln 3 + ln 3. The flow is
    the gradient of the potentials (2 ln 3, ln 3, 0): the residual is 0, and so is the share. The one triad orders
    a > b > c."""
    wins, games = matrix(("a", "b", 7.0, 9), ("b", "c", 7.0, 9), ("a", "c", 8.5, 9))
    assert nontransitive_share(wins, games) == pytest.approx(0.0, abs=1e-12)
    assert cyclic_triads(wins, games) == (1, 0)


def test_rock_paper_scissors_is_all_cycle():
    """a beats b, b beats c, c beats a, each 7-2 of 9: the flow ln 3 runs around the cycle (a->b, b->c, c->a), and
    any gradient s_a - s_b + s_b - s_c + s_c - s_a sums to 0 around it, so the flow is orthogonal to every gradient:
    the fitted potentials are equal, the residual is the whole flow, the share 1. The one triad is cyclic."""
    wins, games = matrix(("a", "b", 7.0, 9), ("b", "c", 7.0, 9), ("c", "a", 7.0, 9))
    assert nontransitive_share(wins, games) == pytest.approx(1.0)
    assert cyclic_triads(wins, games) == (1, 1)


def test_a_triad_with_an_even_pair_is_not_decided_and_no_duel_no_flow():
    # a-b split 4.5 of 9: no majority, so the triad does not count; with no games at all there is no flow to share
    wins, games = matrix(("a", "b", 4.5, 9), ("b", "c", 7.0, 9), ("c", "a", 7.0, 9))
    assert cyclic_triads(wins, games) == (0, 0)
    assert nontransitive_share(np.zeros((3, 3)), np.zeros((3, 3))) is None


# --- a hand-made round robin --------------------------------------------------------------------------------------

# Greedy answers of two members at iterations 0 and 1 to 1+1, 2+2, 3+3 (the verifier's references 2, 4, 6):
# bix@iter_1 gets 3 right, ada@iter_1 2, ada@iter_0 1, bix@iter_0 none. Equal answers are ties without a verdict.
ANSWERS = {
    ("ada", 0): {"p0": "2", "p1": "5", "p2": "5"},
    ("ada", 1): {"p0": "2", "p1": "4", "p2": "5"},
    ("bix", 0): {"p0": "3", "p1": "3", "p2": "3"},
    ("bix", 1): {"p0": "2", "p1": "4", "p2": "6"},
}


def play(tmp_path, prompts: int = 3) -> tuple[dict, dict]:
    heldout = pd.DataFrame(
        {
            "prompt_id": ["p0", "p1", "p2"],
            "prompt": ["1+1", "2+2", "3+3"],
            "reference": ["2", "4", "6"],
            "split": "heldout",
        }
    )
    write_table(heldout, tmp_path / "heldout.parquet", PROMPTS)
    paths = []
    for (model, i), answers in ANSWERS.items():
        paths.append(tmp_path / f"{model}_{i}.parquet")
        generations_table(model, answers).to_parquet(paths[-1])
    out = {key: tmp_path / name for key, name in [("judgments", "j.parquet"), ("ratings", "r.tsv"),
                                                   ("win_matrix", "w.tsv"), ("summary", "s.json")]}  # fmt: skip
    panel = Panel("verifier", {"verifier": None}, JUDGING, None, "integer", "cpu", GENERATION)
    rating = BradleyTerryConfig(bootstrap_rounds=20)
    summary = write_tournament(
        tmp_path / "heldout.parquet", paths, list(ANSWERS), out, prompts=prompts, panel=panel, rating=rating, seed=0
    )
    return summary, out


def test_the_win_matrix_and_head_to_head_of_a_hand_made_round_robin(tmp_path):
    summary, out = play(tmp_path)
    # 4 checkpoints: 6 pairs on 3 prompts. Equal answers: ada's two checkpoints on 1+1 and 3+3, and bix@iter_1 with
    # ada@iter_0 on 1+1 and with ada@iter_1 on 1+1 and 2+2; the verifier judges the other 13 duels, once each
    assert (summary["duels"], summary["identical"], summary["judged"], summary["undecided"]) == (18, 5, 13, 0)
    assert len(read_table(out["judgments"], JUDGMENTS)) == 13
    shares = pd.read_csv(out["win_matrix"], sep="\t", index_col="checkpoint")
    # row ada@iter_0: against ada@iter_1 tie, loss, tie = 1/3; against bix@iter_0 win, both wrong, both wrong = 2/3;
    # against bix@iter_1 tie (both right), loss, loss = 1/6; ada@iter_1 against bix@iter_0 1, 1, 1/2 = 5/6
    assert shares.loc["ada@iter_0", "ada@iter_1"] == pytest.approx(1 / 3, abs=1e-4)
    assert shares.loc["ada@iter_0", "bix@iter_0"] == pytest.approx(2 / 3, abs=1e-4)
    assert shares.loc["ada@iter_0", "bix@iter_1"] == pytest.approx(1 / 6, abs=1e-4)
    assert shares.loc["ada@iter_1", "bix@iter_0"] == pytest.approx(5 / 6, abs=1e-4)
    assert shares.loc["bix@iter_0", "bix@iter_1"] == 0.0
    assert shares.loc["bix@iter_1", "bix@iter_0"] == 1.0
    assert math.isnan(shares.loc["ada@iter_0", "ada@iter_0"])
    # ada: 1 win (2+2), 2 ties: (1 + 2 / 2) / 3; bix: 3 wins
    ada, bix = summary["head_to_head"]["ada"], summary["head_to_head"]["bix"]
    assert (ada["first"], ada["last"], ada["wins"], ada["ties"], ada["losses"]) == ("ada@iter_0", "ada@iter_1", 1, 2, 0)
    assert ada["win_rate"] == pytest.approx(2 / 3)
    assert (bix["wins"], bix["ties"], bix["losses"], bix["win_rate"]) == (3, 0, 0, 1.0)
    assert bix["ci_low"] < 1.0 == bix["ci_high"]
    # the verifier orders checkpoints by their right answers on the same prompts: 4 triads, all decided, no cycle
    assert (summary["decided_triads"], summary["cyclic_triads"], summary["cyclic_triad_share"]) == (4, 0, 0.0)
    assert 0.0 <= summary["nontransitive_share"] < 0.05
    assert read_document(out["summary"], TOURNAMENT) == json.loads(json.dumps(summary))
    ratings = pd.read_csv(out["ratings"], sep="\t").set_index("checkpoint")
    order = ratings["rating"].sort_values(ascending=False).index.tolist()
    assert order == ["bix@iter_1", "ada@iter_1", "ada@iter_0", "bix@iter_0"]
    assert (ratings["ci_low"] < ratings["rating"]).all() and (ratings["rating"] < ratings["ci_high"]).all()
    assert ratings["matches"].tolist() == [9, 9, 9, 9]


def test_the_tournament_plays_only_its_first_prompts(tmp_path):
    summary, _ = play(tmp_path, prompts=1)
    assert (summary["prompts"], summary["duels"]) == (1, 6)


def test_matches_name_both_checkpoints_and_the_prompt():
    heldout = pd.DataFrame({"prompt_id": ["p0"], "prompt": ["1+1"], "reference": ["2"]})
    matches = tournament_matches(heldout, ["ada@iter_0", "ada@iter_1", "bix@iter_0"])
    assert matches["match_id"].tolist() == ["ada@iter_0/ada@iter_1/p0", "ada@iter_0/bix@iter_0/p0",
                                            "ada@iter_1/bix@iter_0/p0"]  # fmt: skip
    assert win_shares(np.array([[0.0, 1.0]]), np.array([[0, 2]])).tolist()[0][1] == 0.5


class RecordingJuror:
    """A member juror that records the duels put before it and prefers A."""

    def __init__(self, name: str, seen: dict) -> None:
        self.name, self.seen = name, seen

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        self.seen[self.name] = set(duels["match_id"])
        return pd.DataFrame({"match_id": duels["match_id"], "judge": self.name, "method": "peer", "order": "ab",
                             "score_a": 1.0, "score_b": 0.0, "preference": 1.0, "raw": "", "valid": True,
                             "error": ""})  # fmt: skip


def test_a_member_never_judges_a_duel_of_its_own_checkpoints(monkeypatch):
    seen: dict[str, set[str]] = {}
    monkeypatch.setattr(Panel, "build", lambda self, juror: RecordingJuror(juror, seen))
    names = [checkpoint_name(m, i) for m in ("ada", "bix", "cyr") for i in (0, 1)]
    heldout = pd.DataFrame({"prompt_id": ["p0"], "prompt": ["1+1"], "reference": ["2"]})
    duels = tournament_matches(heldout, names).assign(answer_a="1", answer_b="2")
    panel = Panel("peer", dict.fromkeys(["ada", "bix", "cyr"]), JUDGING, None, None, "cpu", GENERATION)
    panel.judge_duels(duels)
    # 15 pairs: ada judges the 5 of bix and cyr (1 bix-bix, 1 cyr-cyr, 4 bix-cyr) and none of its own
    assert seen["ada"] == {m for m in duels["match_id"] if "ada@" not in m}
    assert len(seen["ada"]) == 6


# --- config and plan --------------------------------------------------------------------------------------------


def default_config(**tournament) -> dict:
    config = load_config(REPO / "config" / "config.yaml", SCHEMA_PATH)
    config["tournament"] |= tournament
    return validate_config(config, SCHEMA)


def test_the_default_plan_has_no_tournament():
    plan = Plan.from_config(default_config())
    assert not plan.tournament and plan.tournament_duels == 0
    assert not any(job.rule in ("tournament", "report_tournament") for job in plan.jobs())
    assert "tournament" not in plan.figures
    # the evaluate jobs keep no held-out answers: nothing reads them
    assert all(len(job.outputs) == 1 for job in plan.jobs() if job.rule == "evaluate")


def test_an_enabled_tournament_adds_its_job_figure_and_the_answers_it_reads():
    plan = Plan.from_config(default_config(enabled=True))
    # arithmetic has an evaluator: auto is the verifier
    assert plan.tournament_judge == "verifier" and plan.tournament_prompts == 50
    # 4 members at iterations 0..3: 16 checkpoints, C(16, 2) = 120 pairs, on 50 prompts
    assert len(plan.checkpoints) == 16 and plan.tournament_duels == 120 * 50 == plan.tournament_seats()
    jobs = {job.rule: job for job in plan.jobs()}
    assert jobs["tournament"].outputs == tuple(
        file(k) for k in ("tournament_judgments", "tournament_ratings", "tournament_win_matrix", "tournament_summary")
    )
    assert jobs["report_tournament"].outputs == (file("figure", figure="tournament"),)
    assert all(len(job.outputs) == 2 for job in plan.jobs() if job.rule == "evaluate")
    assert len(plan.tournament_inputs()["answers"]) == 16


def test_member_jurors_sit_out_their_own_checkpoints_duels():
    plan = Plan.from_config(default_config(enabled=True, judge="peer", prompts=None))
    # 24 pairs within a member (4 x C(4, 2)) have 3 jurors, the 96 across two members 2: 264 seats per prompt
    assert plan.tournament_prompts == 200
    assert plan.tournament_seats() == (24 * 3 + 96 * 2) * 200
    assert set(plan.tournament_inputs()) == {"answers", "member_ada", "member_bix", "member_cyr", "member_dov"}


@pytest.mark.parametrize(
    ("tournament", "models", "message"),
    [
        ({"judge": "pear"}, None, r"'tournament.judge': 'pear' is none of .*; did you mean 'peer'\?"),
        ({"judge": "peer"}, ["ada", "bix"], r"'tournament.judge': peer judges by the members, .* leaves none"),
        ({"prompts": 500}, None, r"'tournament.prompts': 500 is more than .* task.heldout_size=200"),
    ],
)
def test_an_impossible_tournament_is_refused_naming_the_key(tournament, models, message):
    config = {"tournament": {"enabled": True, **tournament}}
    if models:
        config["models"] = {m: {"base": "embedded"} for m in models}
        config["judging"] = {"judges": ["verifier"], "signal": "verifier"}
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)
    # the same settings with the tournament off are nobody's concern
    validate_config({**config, "tournament": {**config["tournament"], "enabled": False}}, SCHEMA)


def test_estimate_counts_the_tournament_only_when_enabled():
    from agon.cli.estimate import estimate

    assert not any(w.name.startswith("tournament") for w in estimate(default_config()).work)
    work = {w.name: w for w in estimate(default_config(enabled=True)).work}
    assert work["tournament duels"].total == 6000
    assert work["tournament verdicts: verifier"].total == 6000


# --- a real run -------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_tournament_runs_on_a_finished_run(micro_run, tmp_path):
    """The finished micro run (3 members, 2 iterations: 9 checkpoints), copied, asked for the tournament's files and
    figure with the verifier on 6 prompts: the evaluate jobs run again once, to keep their held-out answers (their
    outputs did not hold them), and nothing upstream of them does."""
    root, results = micro_run
    shutil.copytree(root, tmp_path, dirs_exist_ok=True, symlinks=True)
    run = tmp_path / results.relative_to(root)
    targets = [f"results/micro/{file(k)}" for k in ("tournament_summary", "tournament_ratings")]
    targets.append(f"results/micro/{file('figure', figure='tournament')}")
    started = time.monotonic()
    done = snakemake(*targets, "--configfile", MICRO, "--config", TOURNAMENT_ON, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-5000:]
    assert jobs_run(done) == {"evaluate": 9, "tournament": 1, "report_tournament": 1}
    summary = read_document(run / file("tournament_summary"), TOURNAMENT)
    # 9 checkpoints: C(9, 2) = 36 pairs on 6 prompts
    assert (summary["prompts"], summary["duels"], summary["judge"]) == (6, 216, "verifier")
    assert summary["identical"] + summary["judged"] == 216 and summary["undecided"] == 0
    assert set(summary["head_to_head"]) == {"ada", "bix", "cyr"}
    assert summary["head_to_head"]["ada"]["last"] == "ada@iter_2"
    ratings = pd.read_csv(run / file("tournament_ratings"), sep="\t")
    assert len(ratings) == 9 and ratings["ci_low"].notna().all()
    assert (run / file("figure", figure="tournament")).stat().st_size > 10_000
    # asked again: nothing left to do
    again = snakemake(*targets, "--dry-run", "--configfile", MICRO, "--config", TOURNAMENT_ON, cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr, (again.stdout + again.stderr)[-3000:]
    print(f"tournament on the micro run: {time.monotonic() - started:.1f} s")
