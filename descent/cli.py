"""The ``descent`` command line: a thin face over the library (no maths here)."""

import argparse
import json
import sys

from descent import __version__, demo
from descent.errors import DescentError
from descent.examples import EXAMPLES, build_example
from descent.explain import explain, load_spec, trace_report
from descent.report import RENDERERS


def build_parser():
    parser = argparse.ArgumentParser(
        prog="descent",
        description="Train neural networks with gradient descent and backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"descent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="train a 2-4-1 network on XOR and show it learn")
    explain_parser = commands.add_parser(
        "explain", help="write out one step of backpropagation, number by number",
        description="Show the forward pass, error terms, gradients and updated weights of a "
                    "small network, as the lecture notes do, or one of the notes' examples.")
    source = explain_parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--example", metavar="NAME", help="a built-in example (see --list)")
    source.add_argument("--spec", metavar="FILE.json", help="a network described in JSON")
    source.add_argument("--list", action="store_true", help="list the built-in examples")
    explain_parser.add_argument("--steps", type=int, default=1, help="training steps (1)")
    explain_parser.add_argument("--format", choices=sorted(RENDERERS), default="text")
    return parser


def run_explain(args, out):
    if args.list:
        width = max(len(name) for name in EXAMPLES)
        for name, (description, _) in EXAMPLES.items():
            out.write(f"{name.ljust(width)}  {description}\n")
        return 0
    if args.steps < 1:
        raise DescentError(f"--steps must be at least 1, got {args.steps}")
    if args.example:
        report = build_example(args.example, steps=args.steps)
    else:
        model, x, target, loss, lr, frozen = load_spec(args.spec)
        traces = explain(model, x, target, loss, lr, args.steps, frozen)
        report = trace_report(traces, title=f"Backpropagation for {args.spec}")
    out.write(report.render(args.format))
    return 0


def main(argv=None, out=None):
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return 0 if demo.main(out=lambda line: out.write(line + "\n")) == 4 else 1
        if args.command == "explain":
            return run_explain(args, out)
    except DescentError as error:
        sys.stderr.write(f"descent: error: {error}\n")
        return 2
    parser.print_help(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
