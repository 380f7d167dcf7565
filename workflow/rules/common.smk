# Settings, validation and input functions shared by every rule.
import json
import logging
import os
import time

from snakemake.utils import validate

from rdbench.codecs import create, point_label

validate(config, schema="../schemas/config.schema.yaml")

RESULTS = config["results"]
WORK = config["work"]
DATASETS = [os.path.basename(os.path.normpath(d)) if os.sep in d else d for d in config["datasets"]]
DATASET_SOURCE = dict(zip(DATASETS, config["datasets"]))
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


def setting_stamp(name, value):
    """A file recording a setting and since when it holds; rules list it as input.

    Snakemake notices changed params only through its records in .snakemake/, which a fresh clone of
    the committed results lacks, and git dates every file of a clone at checkout time. So the settings
    of the committed run are committed too, in results/settings/, each with the time it last changed
    ("since"; 0 for a first stamp, which trusts results made before stamps existed). Parsing the
    workflow records a changed value with the current time and dates the file at "since", so results
    made after the change stay up to date and those made before it are rerun: in a fresh clone, after
    a dry run, after an interrupted run alike.
    """
    path = f"{RESULTS}/settings/{name}.json"
    value = json.loads(json.dumps(value, default=str))
    old = json.load(open(path)) if os.path.exists(path) else None
    if old is None or old.get("value") != value:
        stamp = {"value": value, "since": 0 if old is None else int(time.time())}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(stamp, f, indent=1, sort_keys=True)
            f.write("\n")
    else:
        stamp = old
    os.utime(path, (stamp["since"], stamp["since"]))
    return path


METRICS_STAMP = setting_stamp("metrics", METRICS)
CODEC_STAMPS = {name: setting_stamp(f"codec-{name}", codec_options(name)) for name in CODEC_POINTS}
REPORT_STAMP = setting_stamp("report", {k: config.get(k) for k in ("anchor", "bd", "published")})

RD_CSVS = expand(f"{RESULTS}/{{dataset}}/rd.csv", dataset=DATASETS)
AVAILABILITY = f"{RESULTS}/availability.json"

wildcard_constraints:
    dataset="[^/]+",
    codec="[^/]+",
    point="[^/]+",
