# rdbench workflow: `snakemake --cores 8` runs the default benchmark of config/config.yaml.
# The rules live in workflow/rules/; every job calls one rdbench function (see rdbench/run.py).
from snakemake.utils import min_version

min_version("9.0")


# The config a run names is the whole config: config/config.yaml is the default only when no
# --configfile is given, so a user's file lists exactly the codecs, datasets and metrics it wants
# (Snakemake would merge the two otherwise, keeping every default codec). --config still overrides keys.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/cells.smk"
include: "workflow/rules/complexity.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/ablations.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        RD_CSVS,
        AVAILABILITY,
        COMPLEXITY_TARGETS,
        REPORT_TARGETS,
        ABLATION_TARGETS,
        GRID_FILES,
        RUNTIME_FILES,
        setting_stamps(),
