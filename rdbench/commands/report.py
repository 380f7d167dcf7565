"""`rdbench report`: Table I, the RD plots and the single-file HTML report, from the rd.csv files."""

HELP = "write Table I, the RD plots and results/report.html (one file that opens from disk)"
EPILOG = """examples:
  rdbench report                                   # settings from config/config.yaml
  rdbench report --results results --datasets kodak clic2020-professional-valid --anchor hevc444
  rdbench report --bootstrap 0 --ms-ssim raw --rate-range 0.05 0.5
Reads <results>/<dataset>/rd.csv and the cell JSONs they name; writes <results>/tables/, <results>/plots/
and <results>/report.html. The workflow runs the same steps as separate rules (workflow/rules/report.smk).
"""


def configure(parser):
    from rdbench.report.build import add_settings_arguments

    add_settings_arguments(parser)


def run(args) -> int:
    import logging

    from rdbench.report.build import make_all, settings_from_args

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    paths = make_all(settings_from_args(args))
    print(f"wrote {len(paths)} files; open {paths[-1]}")
    return 0
