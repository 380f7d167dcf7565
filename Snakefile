# rdbench workflow: `snakemake --cores 8` runs the default benchmark of config/config.yaml.
# The rules live in workflow/rules/; every job calls one rdbench function (see rdbench/run.py).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/cells.smk"
include: "workflow/rules/complexity.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/ablations.smk"


rule all:
    input:
        RD_CSVS,
        AVAILABILITY,
        COMPLEXITY_TARGETS,
        REPORT_TARGETS,
        ABLATION_TARGETS,
