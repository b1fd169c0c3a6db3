from agon.debate import write_transcript
from agon.logs import log_to

with log_to(snakemake.log[0]):
    write_transcript(
        snakemake.input.matches,
        list(snakemake.input.turns),
        snakemake.output.transcript,
        snakemake.output.duels,
        judge_reads_background=snakemake.params.judge_reads_background,
    )
