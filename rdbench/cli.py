"""`rdbench ...`: one subcommand per module of ``rdbench.commands``.

A command module defines ``HELP`` (one line), optionally ``EPILOG`` (examples), ``configure(parser)``
and ``run(args) -> int``; it imports heavy libraries inside ``run`` so `rdbench --help` stays fast.
Library code raises; only this module turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import os
import importlib
import pkgutil
import sys

import rdbench.commands


def build_parser() -> argparse.ArgumentParser:
    """The parser of `rdbench`; ``parser.commands`` maps each command's name to its subparser."""
    parser = argparse.ArgumentParser(prog="rdbench", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rdbench {rdbench_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parser.commands = {}
    for info in sorted(pkgutil.iter_modules(rdbench.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"rdbench.commands.{info.name}")
        name = getattr(module, "NAME", info.name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP, epilog=getattr(module, "EPILOG", None),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(p)
        p.set_defaults(_run=module.run)
        parser.commands[name] = p
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse `argv`, options and positionals in any order (`metric lpips --variant alex A B`).

    argparse stops filling positionals at the first option; a command's own parser can take them
    intermixed, which the top-level one (having subcommands) cannot.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extra = parser.parse_known_args(argv)
    if not extra:
        return args
    command = parser.commands[args.command]
    try:
        return command.parse_intermixed_args(argv[argv.index(args.command) + 1:], namespace=args)
    except TypeError:  # a command with subcommands of its own: argparse's usual order applies
        parser.error(f"unrecognized arguments: {' '.join(extra)}")


def rdbench_version() -> str:
    from rdbench import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    args = parse(build_parser(), argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("rdbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rdbench bd ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # the one place errors become exit codes
        if os.environ.get("RDBENCH_DEBUG"):
            raise
        print(f"rdbench {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
