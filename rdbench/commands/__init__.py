"""Subcommands of `rdbench`: each module here is one (see rdbench/cli.py for the contract)."""
