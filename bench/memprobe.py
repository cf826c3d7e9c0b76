"""Child process of a memory measurement: run one contender once, print one JSON line.

    python -m bench.memprobe --case bench.cases.mnist --contender descent \
        --data DIR --threads 2 --extra '{"opt": "sgd"}'

It imports only what that contender needs (``REQUIRES`` in the case module), caps the
threads as the in-process benchmark does, loads the case's data from ``DIR``, and
measures the timed block of the contender with :class:`bench.harness.MemoryTimer`.
"""

import argparse
import importlib
import json
import sys
import warnings


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.memprobe")
    parser.add_argument("--case", required=True)
    parser.add_argument("--contender", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--extra", default="{}")
    args = parser.parse_args(argv)

    module = importlib.import_module(args.case)
    for name in getattr(module, "REQUIRES", {}).get(args.contender, ()):
        importlib.import_module(name)
    from bench import harness

    data = harness.load_data(args.data)
    data.update(json.loads(args.extra))
    optional = {name: run for name, (_, run) in getattr(module, "OPTIONAL", {}).items()}
    contender = {**module.CONTENDERS, **optional}[args.contender]
    with harness.limit_threads(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timer = harness.MemoryTimer()
        extras = contender(data, timer) or {}
    print(json.dumps({"contender": args.contender, "memory_mib": timer.added_mib,
                      "before_mib": timer.before / 1024, "peak_mib": timer.peak / 1024,
                      "method": timer.method, "seconds": timer.elapsed,
                      **{k: v for k, v in extras.items() if isinstance(v, (int, float))}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
