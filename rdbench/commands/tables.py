"""`rdbench tables`: Table I (BD-rate of every codec against the anchor) in CSV, Markdown, LaTeX, HTML."""

HELP = "write Table I (BD-rate and BD-quality vs the anchor, datasets x metrics) as CSV, Markdown, LaTeX and HTML"
EPILOG = """examples:
  rdbench tables                                   # settings from config/config.yaml
  rdbench tables --results results --datasets kodak --metrics psnr-rgb ms-ssim-rgb --anchor hevc444
  rdbench tables --method pchip --averaging per-image --bootstrap 1000 --out /tmp/tables
  rdbench tables --published kodak=reference/kodak/bpg_444_x265_ycbcr.json
  rdbench tables --rate-range 0.05 0.5 --latex-interval pm    # "at low bitrates"
Writes <results>/tables/table1.{csv,md,tex,html,json} (BD-rate), table1_quality.* (BD-quality),
table1_details.csv (every value under every method and averaging, overlaps) and tables.md (with Tables II/III
when <results>/complexity/table2.csv / table3.csv exist). Published rows are references, never ranked.
Marks: † another method or averaging moves the value by more than bd.sensitivity; ‡ small overlap.
"""


def configure(parser):
    from rdbench.report.build import add_settings_arguments

    add_settings_arguments(parser)
    parser.add_argument("--out", help="output folder (default: <results>/tables)")


def run(args) -> int:
    import logging

    from rdbench.report.build import make_tables, settings_from_args

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = settings_from_args(args)
    for path in make_tables(settings, args.out):
        print(path)
    return 0
