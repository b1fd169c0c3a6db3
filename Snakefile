from snakemake.utils import min_version

min_version("9.0")


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


include: "rules/report.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        PLAN.targets(),
