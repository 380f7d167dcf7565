# Complexity tables (paper Tables II and III): kMAC/pixel and parameters of the learned codecs,
# counted with torchinfo at 768x512 (ptflops and fvcore as cross-check columns). No images, no
# weights: the counts depend on the architectures only. Needs RESULTS and LOGS (common.smk).
# With complexity.time.enabled, Table II also gets measured CPU encode/decode ms per megapixel beside
# kMAC/px (rdbench.timing; random weights, median of complexity.time.repeats runs at the counted size).
# The job then claims every core (a timing wants the machine to itself); about 4 min for 3 runs at
# 768x512 on 2 cores, most of it cheng2020-anchor's autoregressive decoder and LoC-LIC.
import os
import sys

# config "complexity": which architectures get a per-module table (the first one's is table3.*, the TreeNet
# paper's Table III; the others' table3-<architecture>.*), the input size, the counters and the timing. Table II
# always lists every known architecture.
COMPLEXITY_TIME = {"enabled": False, "repeats": 3, "threads": [], **config.get("complexity", {}).get("time", {})}
COMPLEXITY = {"architectures": ["treenet", "loclic"], "height": 512, "width": 768,
              "counters": ["torchinfo", "ptflops", "fvcore"], **config.get("complexity", {}), "time": COMPLEXITY_TIME}
COMPLEXITY_STEMS = ["table2", "table3"] + [f"table3-{a}" for a in COMPLEXITY["architectures"][1:]]
COMPLEXITY_TARGETS = [f"{RESULTS}/complexity/{stem}.{ext}" for stem in COMPLEXITY_STEMS for ext in ("csv", "md", "tex")]


def complexity_time_options(time):
    """The `rdbench complexity` options of config complexity.time: "" when timing is off."""
    if not time["enabled"]:
        return ""
    threads = f" --threads {' '.join(str(t) for t in time['threads'])}" if time["threads"] else ""
    return f"--time --repeats {time['repeats']}{threads}"


rule complexity:
    output:
        COMPLEXITY_TARGETS,
    params:
        outdir=lambda wc, output: os.path.dirname(output[0]),
        python=sys.executable,
        architectures=" ".join(COMPLEXITY["architectures"]),
        size=f"--height {COMPLEXITY['height']} --width {COMPLEXITY['width']}",
        counters=" ".join(COMPLEXITY["counters"]),
        time=complexity_time_options(COMPLEXITY_TIME),
    threads: workflow.cores if COMPLEXITY_TIME["enabled"] else 1
    resources:
        mem_mb=4000,  # torchinfo of LoC-LIC (~70 M parameters) at 768x512; timing builds every model at once
        runtime=60 if COMPLEXITY_TIME["enabled"] else 30,
    log:
        f"{LOGS}/complexity/complexity.log",
    shell:
        '"{params.python}" -m rdbench.cli complexity {params.architectures} {params.size} --counters {params.counters} '
        "{params.time} --out {params.outdir:q} > {log} 2>&1"
