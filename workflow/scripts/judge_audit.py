from agon.judging.audit import write_audit
from agon.logs import log_to

with log_to(snakemake.log[0]):
    write_audit(
        snakemake.input.matches,
        list(snakemake.input.judgments),
        snakemake.output.json,
        snakemake.output.png,
        snakemake.params.family,
        generation_paths=list(snakemake.input.get("generations", [])),
        duels_path=snakemake.input.get("duels"),
    )
