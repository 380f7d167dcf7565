# dataset -> canonical images -> (codec, point) cells -> metrics -> rd.csv


rule prepare:
    output:
        f"{WORK}/{{dataset}}/images/index.json",
    params:
        source=lambda wc: DATASET_SOURCE[wc.dataset],
        max_images=config.get("max_images"),
        max_pixels=config.get("max_pixels", MAX_PIXELS),
    log:
        f"{LOGS}/prepare/{{dataset}}.log",
    script:
        "../scripts/prepare.py"


rule code:
    input:
        index=f"{WORK}/{{dataset}}/images/index.json",
        options=lambda wc: CODEC_STAMPS[wc.codec],
    output:
        f"{WORK}/{{dataset}}/coded/{{codec}}/{{point}}/coding.json",
    params:
        options=lambda wc: codec_options(wc.codec),
        cell=f"{RESULTS}/cells/{{dataset}}/{{codec}}/{{point}}.json",  # its values are kept for reuse
    threads: lambda wc: codec_threads(wc.codec)
    resources:
        mem_mb=lambda wc: code_resources(wc.codec)[0],
        runtime=lambda wc, attempt: code_resources(wc.codec)[1] * attempt,
    log:
        f"{LOGS}/code/{{dataset}}/{{codec}}/{{point}}.log",
    script:
        "../scripts/code.py"


rule measure:
    input:
        coding=f"{WORK}/{{dataset}}/coded/{{codec}}/{{point}}/coding.json",
        index=f"{WORK}/{{dataset}}/images/index.json",
        settings=lambda wc: [METRICS_STAMP, CODEC_STAMPS[wc.codec]],
    output:
        f"{RESULTS}/cells/{{dataset}}/{{codec}}/{{point}}.json",
    params:
        metrics=METRICS,
    resources:
        mem_mb=measure_resources()[0],
        runtime=lambda wc, attempt: measure_resources()[1] * attempt,
    log:
        f"{LOGS}/measure/{{dataset}}/{{codec}}/{{point}}.log",
    script:
        "../scripts/measure.py"


rule aggregate:
    input:
        lambda wc: cells_of(wc.dataset),
    output:
        f"{RESULTS}/{{dataset}}/rd.csv",
    log:
        f"{LOGS}/aggregate/{{dataset}}.log",
    script:
        "../scripts/aggregate.py"


rule availability:
    input:
        stamp("availability", {"skipped": SKIPPED, "datasets_skipped": DATASETS_SKIPPED}),  # rewritten on change
    output:
        AVAILABILITY,
    params:
        ready=CODEC_POINTS,
        skipped=SKIPPED,
        datasets_skipped=DATASETS_SKIPPED,
    log:
        f"{LOGS}/availability.log",
    script:
        "../scripts/availability.py"
