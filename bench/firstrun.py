"""Child process of the compile report: in a fresh Python, load descent's compiled
kernels (compiling them, or reading Numba's disk cache — ``NUMBA_CACHE_DIR``), then
train case a's SGD epoch twice; print one JSON line of the three times.

    NUMBA_CACHE_DIR=DIR python -m bench.firstrun --data DIR --threads 2
"""

import argparse
import json
import sys
import time
import warnings


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.firstrun")
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)

    import scipy.linalg.cython_blas  # noqa: F401  (the BLAS the kernels call, capped too)

    import descent.compiled
    from bench import harness
    from bench.cases import mnist

    data = harness.load_data(args.data)
    data["opt"] = "sgd"
    with harness.limit_threads(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        descent.compiled.load(data["X"].dtype)
        load_s = time.perf_counter() - start
        times = []
        for _ in range(2):
            timer = harness.Timer()
            mnist.OPTIONAL["descent-compiled"][1](data, timer)
            times.append(timer.elapsed)
    print(json.dumps({"load_s": load_s, "first_s": times[0], "second_s": times[1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
