"""From ``rd.csv`` to what a paper publishes.

compare    BD of one codec against the anchor on one dataset: averaging conventions, bootstrap
published  CompressAI results JSON files imported as reference curves (never counted as measured)
tables     Table I (BD-rate vs the anchor; CSV, Markdown, LaTeX, HTML) and Tables II/III when present
plots      RD curves per dataset x metric (PNG and SVG)
html       the single-file HTML report
build      one function per workflow rule (tables, plots, report), shared with the CLI
"""
