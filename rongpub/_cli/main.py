"""The `rongpub` command: each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules with `register(subparsers)`, one per subcommand; imported only when the CLI runs,
# so `import rongpub` stays light.
_SUBCOMMANDS = ("rongpub._cli.demo", "rongpub.emulator._cli", "rongpub._cli.fanout")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="rongpub",
        description="RongCloud publishing: the demo, the local emulator and fan-out jobs.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in _SUBCOMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rongpub` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
