"""The `rongpub` command: each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> module with `register(subparsers)`; imported only when the CLI runs.
_SUBCOMMANDS = {
    "demo": "rongpub._demo",
    "emulator": "rongpub.emulator._cli",
    "fanout": "rongpub._fanout_cli",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(prog="rongpub", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in _SUBCOMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a subcommand whose module is not built yet
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rongpub` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
