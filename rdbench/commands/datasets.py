"""`rdbench datasets`: known datasets and where rdbench finds them."""

HELP = "list known datasets and whether they are available locally"
EPILOG = """examples:
  RDBENCH_DATA=../shared/datasets rdbench datasets
  rdbench datasets --fetch kodak      # download and verify into the cache
"""


def configure(parser):
    parser.add_argument("--fetch", metavar="NAME", help="download (or verify) one dataset now")


def run(args) -> int:
    from rdbench import datasets

    if args.fetch:
        ds = datasets.resolve(args.fetch)
        print(f"{ds.name}: {len(ds.images)} images in {ds.root} ({ds.origin}), verified")
        return 0
    for name, spec in datasets.KNOWN.items():
        try:
            ds = datasets.resolve(name, download=False)
            where = f"{len(ds.images)} images in {ds.root} ({ds.origin})"
        except datasets.DatasetError as exc:
            where = f"not local: {exc}"
        print(f"{name:<30} {spec.description}\n{'':<30} {where}")
    print("any folder of images also works as a dataset: pass its path")
    return 0
