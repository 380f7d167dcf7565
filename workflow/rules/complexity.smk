# Complexity tables (paper Tables II and III): kMAC/pixel and parameters of the learned codecs,
# counted with torchinfo at 768x512 (ptflops and fvcore as cross-check columns), and in Table II the
# measured CPU encode/decode ms per megapixel at 1 thread and at torch's default thread count
# (rdbench.timing: random-init weights, median of 3; cheng2020-anchor's autoregressive decoder makes
# this rule take ~15 min on 2 cores). No images, no weights. Needs RESULTS (common.smk).
import os
import sys

COMPLEXITY_TARGETS = [f"{RESULTS}/complexity/table{n}.{ext}" for n in (2, 3) for ext in ("csv", "md", "tex")]


rule complexity:
    output:
        COMPLEXITY_TARGETS,
    params:
        outdir=lambda wc, output: os.path.dirname(output[0]),
        python=sys.executable,
    log:
        "logs/complexity/complexity.log",
    shell:
        '"{params.python}" -m rdbench.cli complexity treenet --height 512 --width 768 --out {params.outdir:q} '
        "--time --repeats 3 > {log} 2>&1"
