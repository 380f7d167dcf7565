# Settings, validation and input functions shared by every rule.
import logging
from pathlib import Path

from snakemake.utils import validate

from rdbench import config as rdconfig
from rdbench import results as results_files
from rdbench.images import MAX_PIXELS

validate(config, schema="../schemas/config.schema.yaml")
# `plugins:` names the folders of one-file plugins (default: the checkout's codecs/ and metrics/); it is
# exported as RDBENCH_PLUGINS, so every job registers the same codecs and metrics as this check.
rdconfig.use_plugins(config)
# Every config problem (datasets, codecs and their options, metrics, anchor) stops the workflow here,
# before any job runs, all of them in one message. Available codecs get cells; the others are
# skipped with their reason, logged and in availability.json.
CODEC_POINTS, SKIPPED = rdconfig.check(config)
for _name, _reason in SKIPPED.items():
    logging.getLogger("snakemake").warning(f"rdbench: skipping codec {_name}: {_reason}")

RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"  # one log per job, beside the results it explains (two results folders, two logs)


include: "settings.smk"

WORK = config["work"]
DATASET_SOURCE = rdconfig.dataset_sources(config["datasets"])  # name -> entry; one name, one folder
TABLE_DATASETS = list(DATASET_SOURCE)  # Table I's column groups: every configured dataset
# A registered dataset that cannot be had here (not in RDBENCH_DATA or the cache, host unreachable) is skipped
# with its reason, like a codec that cannot run: Table I shows its published rows and says why.
DATASETS_SKIPPED = rdconfig.unavailable_datasets(config)
for _name, _reason in DATASETS_SKIPPED.items():
    logging.getLogger("snakemake").warning(f"rdbench: skipping dataset {_name}: {_reason}")
DATASETS = [d for d in TABLE_DATASETS if d not in DATASETS_SKIPPED]  # measured here
METRICS = list(config["metrics"])


def codec_options(name):
    """The configured keyword options of a codec (`points` included; `threads` is the workflow's)."""
    return rdconfig.codec_options(config, name)


def codec_threads(name):
    """Images of one cell coded in parallel (for slow external encoders such as VTM)."""
    return int((config["codecs"].get(name) or {}).get("threads", 1))


# What each job asks a cluster for, in the resources every executor plugin reads (SLURM, Kubernetes, ...):
# mem_mb is the peak memory with room to spare, runtime the minutes of a whole job, and a retry
# (`--retries`, profiles/slurm) asks for `attempt` times as long. Measured needs: docs/cluster.md.
LEARNED = {"learned", "treenet", "loclic", "jpegai", "bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean",
           "cheng2020-anchor"}
PERCEPTUAL = {"nlpd", "lpips", "dists"}


def code_resources(name):
    """(mem_mb, runtime minutes) of one cell's coding job: VTM is hours, learned codecs hold a model,
    x265 veryslow and vvenc take minutes for a 2K image."""
    if name == "vtm":
        return 4000, 24 * 60
    if name in LEARNED:
        return 8000, 4 * 60
    return 2000, 3 * 60


def measure_resources():
    """(mem_mb, runtime minutes) of one cell's measuring job: the perceptual metrics hold VGG/AlexNet
    features of a whole image and take minutes for a 2K one."""
    if PERCEPTUAL & {m.split(":")[0] for m in METRICS}:
        return 8000, 4 * 60
    return 2000, 60


def cells_of(dataset):
    return [
        f"{RESULTS}/cells/{dataset}/{codec}/{point}.json"
        for codec, points in CODEC_POINTS.items()
        for point in points
    ]


def set_aside_corrupt_cells():
    """A planned cell that does not read as one is renamed *.corrupt (and said so), so it is measured
    again; its dataset's rd.csv, derived from the cells, is removed so that Snakemake remakes the cell
    (it does not remake a missing intermediate file of an up-to-date target)."""
    for dataset in DATASETS:
        moved = results_files.set_aside_corrupt_cells(cells_of(dataset))
        for path, problem in moved:
            logging.getLogger("snakemake").warning(f"rdbench: {path}: {problem}; set aside as {path}.corrupt, "
                                                   "measuring it again")
        if moved:
            Path(RESULTS, dataset, "rd.csv").unlink(missing_ok=True)


set_aside_corrupt_cells()

METRICS_STAMP = stamp("metrics", METRICS)
CODEC_STAMPS = {name: stamp(f"codec-{name}", rdconfig.codec_setting(config, name)) for name in CODEC_POINTS}

RD_CSVS = expand(f"{RESULTS}/{{dataset}}/rd.csv", dataset=DATASETS)
AVAILABILITY = f"{RESULTS}/availability.json"

wildcard_constraints:
    dataset="[^/]+",
    codec="[^/]+",
    point="[^/]+",
