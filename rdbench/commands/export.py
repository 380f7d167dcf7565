"""`rdbench export`: measured curves out in another tool's format."""

HELP = "write every measured curve of a dataset as CompressAI results JSON (one file per codec) and means.csv"
EPILOG = """examples:
  rdbench export --csv results/kodak/rd.csv --out exported/kodak
  rdbench export --csv results/rd.csv --dataset kodak --out exported/kodak --format compressai
Each <codec>.json reads back with `rdbench bd --published` or CompressAI's plotting script.
"""


def configure(parser):
    parser.add_argument("--csv", required=True, help="rd.csv of the workflow or of `rdbench run`")
    parser.add_argument("--out", required=True, help="folder for <codec>.json and means.csv")
    parser.add_argument("--dataset", help="the dataset to export when rd.csv holds several")
    parser.add_argument("--format", choices=["compressai"], default="compressai",
                        help="CompressAI's results JSON (the only format so far)")


def run(args) -> int:
    from rdbench.report.export import write_compressai

    for path in write_compressai(args.csv, args.out, args.dataset):
        print(path)
    return 0
