"""`rdbench codecs`: every registered codec, whether it can run here, and why not."""

HELP = "list codecs (built-in and plugins), their rate points and availability"
EPILOG = """examples:
  rdbench codecs              # table: name, available, points, reason/fix
  rdbench codecs --json       # the same, machine-readable
"""


def configure(parser):
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    import json

    from rdbench.codecs import codecs, create, point_label
    from rdbench.registry import RegistryError

    rows = []
    for name in codecs.names():
        try:
            codec = create(name)
            status = codec.available()
            points = [point_label(p) for p in codec.points()]
            rows.append({"codec": name, "available": status.ok, "point_kind": codec.point_kind,
                         "points": points, "reason": status.reason, "plugin": codecs.origin(name)})
        except Exception as exc:  # a broken plugin is listed with its error, not hidden
            loaded = not isinstance(exc, RegistryError)  # it loaded, but needs options to be created
            rows.append({"codec": name, "available": False, "point_kind": "", "points": [],
                         "reason": f"needs options: {exc}" if loaded else f"plugin failed to load: {exc}",
                         "plugin": codecs.origin(name)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    width = max(len(r["codec"]) for r in rows)
    for r in rows:
        mark = "yes" if r["available"] else "no "
        points = f"{r['point_kind']} {','.join(r['points'])}" if r["points"] else ""
        print(f"{r['codec']:<{width}}  {mark}  {points}{'  -- ' + r['reason'] if r['reason'] else ''}")
    return 0
