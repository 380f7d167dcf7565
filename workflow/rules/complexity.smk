# Complexity tables (paper Tables II and III): kMAC/pixel and parameters of the learned codecs,
# counted with torchinfo at 768x512 (ptflops and fvcore as cross-check columns). No images, no
# weights: the counts depend on the architectures only. Needs RESULTS and LOGS (common.smk).
# Measured encode/decode time (Table II's ms/Mpx columns) is not a workflow job: it takes ~15 min on
# 2 cores (cheng2020-anchor's autoregressive decoder) and needs a quiet machine; run
# `rdbench complexity treenet --out results/complexity --time --repeats 5` by hand.
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
        f"{LOGS}/complexity/complexity.log",
    shell:
        '"{params.python}" -m rdbench.cli complexity treenet --height 512 --width 768 --out {params.outdir:q} '
        "> {log} 2>&1"
