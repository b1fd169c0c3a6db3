"""Judging in shards: blocks of the duels judged apart and gathered give the table of one job, row for row."""

import pandas as pd
import pytest
import torch

from agon.contracts import DUELS, GENERATIONS, JUDGMENTS, MATCHES, PROMPTS, read_table, write_table
from agon.judging import DUEL_COLUMNS, JudgeConfig, gather_judgments, judge_matches, read_duels
from agon.shards import block_of, shard_of

from .testing_utils import generations_table, matches_table

MEMBERS = ("m1", "m2", "m3", "m4")


def test_blocks_are_contiguous_within_one_row_in_size_and_cover_the_rows_in_order():
    # 7 rows in 3 blocks: cuts at 7 * 1 // 3 = 2 and 7 * 2 // 3 = 4 -> sizes 2, 2, 3
    rows = pd.DataFrame({"x": range(7)})
    blocks = [block_of(rows, k, 3)["x"].tolist() for k in range(3)]
    assert blocks == [[0, 1], [2, 3], [4, 5, 6]]
    # more shards than rows: the extra shards are empty, never an error
    assert [len(block_of(rows.head(2), k, 4)) for k in range(4)] == [0, 1, 0, 1]
    assert shard_of(rows, 1, 3)["x"].tolist() == [1, 4]  # generation's cut: every third row
    with pytest.raises(ValueError, match=r"shard 3 is outside 0..2"):
        block_of(rows, 3, 3)


@pytest.fixture(scope="module")
def stage(tmp_path_factory, micro_splits, tiny_member):
    """Four members' answers to four prompts and a round robin of 24 matches: m1 judges the 12 it is not in."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("shards")
    prompts = read_table(micro_splits["heldout"], PROMPTS).head(4)
    pids = prompts["prompt_id"].tolist()
    paths = []
    for n, model in enumerate(MEMBERS):
        paths.append(root / f"{model}.parquet")
        # answers of different lengths, so the batches of a shard pad differently from those of one job
        references = zip(pids, prompts["reference"], strict=True)
        answers = {pid: ref + "0" * ((n + k) % 3) for k, (pid, ref) in enumerate(references)}
        write_table(generations_table(model, answers), paths[-1], GENERATIONS)
    pairs = [(pid, a, b) for pid in pids for i, a in enumerate(MEMBERS) for b in MEMBERS[i + 1 :]]
    write_table(matches_table(pairs, prompts), root / "matches.parquet", MATCHES)
    return root, root / "matches.parquet", paths, {"name": "m1", "base": str(tiny_member)}


def judge_in_shards(stage, method: str, shards: int, duels_path=None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """m1's judgments (and branch verdicts, with ``duels_path``) judged in ``shards`` jobs, then gathered."""
    root, matches_path, generation_paths, spec = stage
    folder = root / f"{method}-{shards}-{duels_path is not None}"
    tables = {kind: [folder / kind / f"{k}.parquet" for k in range(shards)] for kind in ("judgments", "branches")}
    for k in range(shards):
        judge_matches(
            matches_path,
            generation_paths,
            tables["judgments"][k],
            JudgeConfig(method, batch_size=3),
            judge_name="m1",
            evaluator="integer",
            spec_dict=spec,
            device="cpu",
            duels_path=duels_path,
            branches_path=tables["branches"][k] if duels_path else None,
            shard=k,
            shards=shards,
        )
    branches = folder / "branches.parquet" if duels_path else None
    gather_judgments(tables["judgments"], folder / "judgments.parquet", tables["branches"], branches)
    gathered = read_table(folder / "judgments.parquet", JUDGMENTS)
    return gathered, None if branches is None else read_table(branches, JUDGMENTS)


@pytest.mark.parametrize("method", ["peer", "logprob"])
def test_judging_in_shards_gathers_the_table_of_one_job(stage, method):
    one, _ = judge_in_shards(stage, method, 1)
    assert len(one) == 12 * (2 if method == "logprob" else 1)
    # 12 duels in 5 shards: blocks of 2 and 3 duels, batches of 3 cut elsewhere than in one job
    pd.testing.assert_frame_equal(judge_in_shards(stage, method, 5)[0], one, check_exact=True)


def test_debate_branches_are_gathered_with_the_duels_they_were_judged_with(stage):
    root, matches_path, generation_paths, _ = stage
    duels = read_duels(matches_path, generation_paths)
    # branches (ids outside the matches) after the full duels, as debate writes them
    branched = duels.assign(match_id=duels["match_id"] + "/t0/a/alt1", answer_a=duels["answer_a"] + " 1")
    write_table(pd.concat([duels, branched], ignore_index=True)[DUEL_COLUMNS], root / "duels.parquet", DUELS)
    one, one_branches = judge_in_shards(stage, "peer", 1, root / "duels.parquet")
    sharded, sharded_branches = judge_in_shards(stage, "peer", 3, root / "duels.parquet")
    assert len(one) == len(one_branches) == 12 and not one["match_id"].str.contains("/").any()
    pd.testing.assert_frame_equal(sharded, one, check_exact=True)
    pd.testing.assert_frame_equal(sharded_branches, one_branches, check_exact=True)
