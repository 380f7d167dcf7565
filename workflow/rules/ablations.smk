# TreeNet latent ablations (paper Fig. 7-8) of one Kodak image per rate point, from the weights the
# benchmark measured: selective / accumulative propagation and per-latent bit maps (rdbench ablate).
# Only when treenet runs here (weights present) and kodak is a dataset. Needs common.smk.
import os
import sys

from rdbench.codecs import create

ABLATION_IMAGE = config.get("ablation_image", "kodim23")
ABLATION_CODECS = [c for c in ("treenet",) if c in CODEC_POINTS and "kodak" in DATASETS]
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
