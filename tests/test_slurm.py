"""profiles/slurm on a real one-node SLURM cluster: the tests start munge, slurmctld and slurmd on this machine.

The cluster has no accounting database, so the run adds the two flags profiles/slurm documents for that case
(job status from squeue). Needs root and Debian's slurm-wlm and munge packages, which the start script installs.
"""

import json
import re
import subprocess
from collections import Counter

import pytest

from .testing_utils import MICRO_SLURM, REPO, snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SLURM = REPO / "tests" / "slurm"
# The rules that load a model and so carry the GPU tag; everything else runs on the submit host (localrules).
MODEL_JOBS = {"embedded_member": 2, "infer": 2, "train": 2, "evaluate": 4}
# Of those, the jobs that read their member's answers from the infer job (iteration 0's evaluations): through sbatch,
# asking for no GPU.
READERS = re.compile(r"rule_evaluate_wildcards_micro_slurm_0_")


@pytest.fixture(scope="module")
def cluster():
    subprocess.run(["bash", str(SLURM / "start_local_slurm.sh")], check=True, timeout=600)
    yield
    subprocess.run(["bash", str(SLURM / "stop_local_slurm.sh")], check=False, timeout=120)


def _job(slurm_id: str) -> dict[str, str]:
    """``scontrol show job -d``'s fields of one job (finished jobs stay visible for MinJobAge, 300 s)."""
    text = subprocess.run(["scontrol", "show", "job", "-d", slurm_id], capture_output=True, text=True, check=True)
    return dict(re.findall(r"(\w+)=(\S*)", text.stdout))


def test_micro_run_goes_through_sbatch_and_gpu_tagged_jobs_get_a_gpu(cluster, tmp_path):
    result = snakemake(
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--configfile",
        MICRO_SLURM,
        cwd=tmp_path,
        profile=REPO / "profiles" / "slurm",
        timeout=900,  # a lost status check makes the plugin wait forever; never let CI hang
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]

    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", output)
    jobs = {slurm_id: _job(slurm_id) for slurm_id in submitted}
    rules = Counter(re.match(r"rule_(\w+?)_wildcards", job["Comment"]).group(1) for job in jobs.values())
    assert rules == Counter(MODEL_JOBS)  # every model job went through sbatch; no bookkeeping rule did
    readers = [job for job in jobs.values() if READERS.match(job["Comment"])]
    assert len(readers) == 2
    for job in jobs.values():
        assert job["JobState"] == "COMPLETED"
        if job in readers:
            assert "gpu" not in job.get("TresPerJob", "") + job.get("JOB_GRES", "")
        else:
            assert job["TresPerJob"] == "gres:gpu:1" and job["JOB_GRES"] == "gpu:1"  # asked for and allocated

    out = tmp_path / "results" / "micro_slurm"
    for model in ("ada", "bix"):
        for iteration in (0, 1):
            assert (
                json.loads((out / f"iter_{iteration}" / "eval" / f"{model}.json").read_text())["iteration"] == iteration
            )
        assert (out / "iter_0" / "adapters" / model / "adapter_model.safetensors").exists()
