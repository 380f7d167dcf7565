# Complexity tables (paper Tables II and III): kMAC/pixel and parameters of the learned codecs,
# counted with torchinfo at 768x512 (ptflops and fvcore as cross-check columns). No images, no
# weights: the counts depend on the architectures only. Needs RESULTS and LOGS (common.smk).
# Measured encode/decode time (Table II's ms/Mpx columns) is not a workflow job: it takes ~15 min on
# 2 cores (cheng2020-anchor's autoregressive decoder) and needs a quiet machine; run
# `rdbench complexity treenet --out results/complexity --time --repeats 5` by hand.
import os
import sys

# config "complexity": which architectures get a per-module table (the first one's is table3.*, the TreeNet
# paper's Table III; the others' table3-<architecture>.*), the input size and the counters. Table II always
# lists every known architecture.
COMPLEXITY = {"architectures": ["treenet", "loclic"], "height": 512, "width": 768,
              "counters": ["torchinfo", "ptflops", "fvcore"], **config.get("complexity", {})}
COMPLEXITY_STEMS = ["table2", "table3"] + [f"table3-{a}" for a in COMPLEXITY["architectures"][1:]]
COMPLEXITY_TARGETS = [f"{RESULTS}/complexity/{stem}.{ext}" for stem in COMPLEXITY_STEMS for ext in ("csv", "md", "tex")]


rule complexity:
    output:
        COMPLEXITY_TARGETS,
    params:
        outdir=lambda wc, output: os.path.dirname(output[0]),
        python=sys.executable,
        architectures=" ".join(COMPLEXITY["architectures"]),
        size=f"--height {COMPLEXITY['height']} --width {COMPLEXITY['width']}",
        counters=" ".join(COMPLEXITY["counters"]),
    resources:
        mem_mb=4000,  # torchinfo of LoC-LIC (~70 M parameters) at 768x512
        runtime=30,
    log:
        f"{LOGS}/complexity/complexity.log",
    shell:
        '"{params.python}" -m rdbench.cli complexity {params.architectures} {params.size} --counters {params.counters} '
        "--out {params.outdir:q} > {log} 2>&1"
