"""How a training job starts: in one process, or one process per GPU through accelerate's launcher.

Apart from agon.training so that the workflow builds the command without importing torch.
"""

import shlex


def training_launcher(gpus: int, python: str = "python") -> str:
    """The command that ``-m agon.training ...`` follows to train on ``gpus`` GPUs (0 = on the CPU).

    Up to one GPU: the interpreter itself. More: ``accelerate launch --multi_gpu``, which starts one process per GPU
    through torchrun; TRL's trainer reads the variables it sets (RANK, WORLD_SIZE, LOCAL_RANK) and splits every batch
    over the processes, over NCCL on GPUs and gloo on CPUs. Not ``--cpu``: with it accelerate starts one process and
    leaves the others to mpirun (huggingface/accelerate#2741), while ``--multi_gpu`` runs CPU processes too.
    Port 0 picks a free port, so that two such jobs can share a node.
    """
    if gpus < 0:
        raise ValueError(f"gpus must be >= 0, not {gpus}")
    if gpus <= 1:
        return shlex.quote(python)
    return shlex.join(
        [
            python,
            "-m",
            "accelerate.commands.launch",  # `accelerate launch`, run by the same interpreter
            "--multi_gpu",
            f"--num_processes={gpus}",
            "--num_machines=1",
            # The trainer asks for bf16 itself on GPUs (training.py); naming every option keeps accelerate's
            # warnings about defaults out of the job's log.
            "--mixed_precision=no",
            "--dynamo_backend=no",
            "--main_process_port=0",
        ]
    )
