# Complexity tables (paper Tables II and III): kMAC/pixel and parameters of the learned codecs,
# counted with torchinfo at 768x512 (ptflops and fvcore as cross-check columns). No images, no
# weights: the counts depend on the architectures only. Needs RESULTS (common.smk).
import os
import sys

# table3.* is TreeNet's per-module table (the TreeNet paper's Table III), table3-loclic.* LoC-LIC's.
COMPLEXITY_TARGETS = [f"{RESULTS}/complexity/{stem}.{ext}" for stem in ("table2", "table3", "table3-loclic")
                      for ext in ("csv", "md", "tex")]


rule complexity:
    output:
        COMPLEXITY_TARGETS,
    params:
        outdir=lambda wc, output: os.path.dirname(output[0]),
        python=sys.executable,
    log:
        "logs/complexity/complexity.log",
    shell:
        '"{params.python}" -m rdbench.cli complexity treenet loclic --height 512 --width 768 --out {params.outdir:q} '
        "> {log} 2>&1"
