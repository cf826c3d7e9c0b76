"""The ``descent`` command line: a thin face over the library (no maths here)."""

import argparse
import sys

from descent import __version__, demo


def build_parser():
    parser = argparse.ArgumentParser(
        prog="descent",
        description="Train neural networks with gradient descent and backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"descent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="train a 2-4-1 network on XOR and show it learn")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return 0 if demo.main() == 4 else 1
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
