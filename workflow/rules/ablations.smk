# TreeNet latent ablations (paper Fig. 7-8) of one Kodak image per rate point, from the weights the
# benchmark measured: selective / accumulative propagation and per-latent bit maps (rdbench ablate).
# Only when treenet runs here (weights present) and kodak is a dataset. Needs common.smk.
import logging
import os
import sys

from rdbench import datasets
from rdbench.codecs import create

ABLATION_IMAGE = config.get("ablation_image", "kodim23")


def ablation_image_prepared():
    """Whether `max_images` keeps the ablation image among the prepared Kodak images (said when not)."""
    names = [path.stem for path in datasets.resolve(DATASET_SOURCE["kodak"], download=False).images]
    kept = names if config.get("max_images") is None else names[:config["max_images"]]
    if ABLATION_IMAGE not in kept:
        logging.getLogger("snakemake").warning(
            f"rdbench: no TreeNet ablations: {ABLATION_IMAGE} is not among the {len(kept)} Kodak image(s) "
            "that max_images keeps")
    return ABLATION_IMAGE in kept


ABLATION_CODECS = [c for c in ("treenet",) if c in CODEC_POINTS and "kodak" in DATASETS and ablation_image_prepared()]
ABLATION_TARGETS = [
    f"{RESULTS}/ablations/{codec}/{point}/{ABLATION_IMAGE}_{kind}"
    for codec in ABLATION_CODECS
    for point in CODEC_POINTS[codec]
    for kind in ("contact.png", "ablation.json")
]


rule ablate:
    input:
        index=f"{WORK}/kodak/images/index.json",
        weights=lambda wc: str(create(wc.codec, **codec_options(wc.codec)).weights_file(wc.point)),
    output:
        contact=f"{RESULTS}/ablations/{{codec}}/{{point}}/{ABLATION_IMAGE}_contact.png",
        summary=f"{RESULTS}/ablations/{{codec}}/{{point}}/{ABLATION_IMAGE}_ablation.json",
    params:
        python=sys.executable,
        image=f"{WORK}/kodak/images/{ABLATION_IMAGE}.png",
        weights_dir=lambda wc, input: os.path.dirname(os.path.dirname(input.weights)),
        out=lambda wc, output: os.path.dirname(output.contact),
    log:
        f"{LOGS}/ablate/{{codec}}/{{point}}.log",
    shell:
        '"{params.python}" -m rdbench.cli ablate {wildcards.codec} --image {params.image:q} --point {wildcards.point} '
        "--weights-dir {params.weights_dir:q} --out {params.out:q} > {log} 2>&1"
