# Settings, validation and input functions shared by every rule.
import json
import logging
import os
from pathlib import Path

from snakemake.utils import validate

from rdbench import config as rdconfig
from rdbench import results as results_files
from rdbench.codecs import create, point_label
from rdbench.images import MAX_PIXELS

validate(config, schema="../schemas/config.schema.yaml")

RESULTS = config["results"]


include: "settings.smk"

WORK = config["work"]
DATASET_SOURCE = rdconfig.dataset_sources(config["datasets"])  # name -> entry; one name, one folder
DATASETS = list(DATASET_SOURCE)
METRICS = list(config["metrics"])


def codec_options(name):
    """The configured keyword options of a codec (`points` included; `threads` is the workflow's)."""
    return {k: v for k, v in (config["codecs"].get(name) or {}).items() if k != "threads"}


def codec_threads(name):
    """Images of one cell coded in parallel (for slow external encoders such as VTM)."""
    return int((config["codecs"].get(name) or {}).get("threads", 1))


def check_codecs():
    """Instantiate every configured codec once: available ones get cells, the others a logged reason.

    An unknown name, a plugin that fails to import or bad options stop the workflow here, before any
    job runs: that is a configuration error, not a missing tool.
    """
    ready, skipped = {}, {}
    for name in config["codecs"]:
        codec = create(name, **codec_options(name))
        status = codec.available()
        if status:
            ready[name] = [point_label(p) for p in codec.points()]
        else:
            skipped[name] = status.reason
    for name, reason in skipped.items():
        logging.getLogger("snakemake").warning(f"rdbench: skipping codec {name}: {reason}")
    return ready, skipped


CODEC_POINTS, SKIPPED = check_codecs()


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
        for path, reason in moved:
            logging.getLogger("snakemake").warning(f"rdbench: {reason}: set aside as {path}.corrupt, "
                                                   "measuring it again")
        if moved:
            Path(RESULTS, dataset, "rd.csv").unlink(missing_ok=True)


set_aside_corrupt_cells()

METRICS_STAMP = stamp("metrics", METRICS)
CODEC_STAMPS = {name: stamp(f"codec-{name}", codec_options(name)) for name in CODEC_POINTS}

RD_CSVS = expand(f"{RESULTS}/{{dataset}}/rd.csv", dataset=DATASETS)
AVAILABILITY = f"{RESULTS}/availability.json"

wildcard_constraints:
    dataset="[^/]+",
    codec="[^/]+",
    point="[^/]+",
