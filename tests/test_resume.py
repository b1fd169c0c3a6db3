"""Kill and resume, and determinism, on real Snakemake runs of tests/config/nano.yaml (docs/reliability.md).

CI runs one kill chain (a kill in each of the 7 stages); `AGON_KILL_CHAINS=10 pytest tests/test_resume.py` runs more,
each with other moments.
"""

import os

import pytest

from .conftest import NANO
from .resume_harness import STAGES, differences, killed_and_resumed, redone, run

CHAINS = int(os.environ.get("AGON_KILL_CHAINS", "1"))

pytestmark = pytest.mark.slow


def test_the_same_config_and_seed_give_the_same_outputs(nano_run, tmp_path):
    # nano_run ran on two cores; on one, the jobs run in another order
    run(NANO, tmp_path, cores=1)
    assert differences(nano_run, tmp_path / "results" / "nano") == []


@pytest.mark.parametrize("chain", range(CHAINS))
def test_killed_in_every_stage_and_resumed_gives_the_outputs_of_an_uninterrupted_run(nano_run, tmp_path, chain):
    kills = killed_and_resumed(NANO, tmp_path, seed=chain)
    report = [(kill.stage, kill.rule, round(kill.delay_s, 2), kill.in_flight) for kill in kills]
    assert [kill.stage for kill in kills] == list(STAGES), report
    # a kill loses at most the jobs in flight: what had finished is never written again
    assert redone(kills, tmp_path) == [], report
    assert differences(nano_run, tmp_path / "results" / "nano") == [], report
