from snakemake.logging import logger
from snakemake.utils import min_version

min_version("9.0")

# printshellcmds (profiles/local) makes Snakemake print "Shell command: None" for every job of a rule without a
# shell command (the script: rules); drop those lines and keep the commands of rules that have one (train).
logger.addFilter(lambda record: getattr(record, "event", None) != "shellcmd" or bool(record.shellcmd))


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/bootstrap.smk"
include: "rules/generate.smk"
include: "rules/judge.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"


# The protocol decides who is compared with whom and how verdicts become pairs; the stages around are shared.
if PROTOCOL == "tribe":

    include: "rules/schedule.smk"
    include: "rules/rate.smk"
    include: "rules/pairs.smk"

elif PROTOCOL == "selfplay":

    include: "rules/selfplay.smk"

elif PROTOCOL == "debate":

    include: "rules/debate.smk"
    include: "rules/rate.smk"


# The tournament of every checkpoint, after the run, where the config asks for it.
if PLAN.tournament:

    include: "rules/tournament.smk"


include: "rules/report.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        PLAN.targets(),
