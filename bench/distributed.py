"""Data-parallel training on a Dask cluster: throughput and efficiency for 1 and 2
workers, at several batch sizes. Run it from the repository root with:

    python -m bench.distributed

It needs the dask extra: ``pip install -e '.[dask,test]'``. It starts a LocalCluster of 1,
then of 2 worker processes (one BLAS thread each, on 127.0.0.1) and trains the
MNIST-shaped MLP 784-256-256-10 (float32, SGD, cross-entropy) on random data generated on
the workers: ``--rows`` rows, split evenly between the workers.

For each run it times the epochs after the first (the first pays for warming up) and
reports the examples per second of the fastest: the client and the workers share the
machine's cores, so other work on it slows some epochs down (the load average before and
after is printed beside the table). The yardstick is ``descent.train`` in
this process with one BLAS thread on the same data in memory: the efficiency of W
workers is their throughput over W times that. Synchronous training sends every
worker the weights and gets its gradient sums back once per batch (about 1 MB each way
for this network), so it pays when the per-worker share of a batch is large; local SGD
(``sync_every=H``) exchanges once every H batches.

Options:
  --rows N            training rows (default 65,536)
  --batch-sizes LIST  global batch sizes for synchronous training (default
                      256,1024,4096,16384)
  --local LIST        sync_every values for local SGD at the smallest batch size on 2
                      workers (default 4,16,64; "" for none)
  --epochs N          epochs per run, the first untimed (default 5)
  --quick             smoke mode: 4,096 rows, batch sizes 256 and 2,048, 2 epochs
  --json PATH         also write the results here
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

SIZES = [784, 256, 256, 10]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.distributed",
                                     description="descent.distributed on 1 and 2 workers.")
    parser.add_argument("--rows", type=int, default=65_536)
    parser.add_argument("--batch-sizes", default="256,1024,4096,16384")
    parser.add_argument("--local", default="4,16,64")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.batch_sizes, args.epochs = 4_096, "256,2048", 2
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    args.local = [int(h) for h in args.local.split(",") if h]
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is not timed)")
    return args


def epoch_seconds(history):
    """The time of the fastest epoch after the first: the one other work on the machine
    disturbed least."""
    times = [0.0] + [record["time"] for record in history.records]
    return min(b - a for a, b in zip(times[1:], times[2:]))


def options(batch_size, epochs):
    return dict(loss="cross_entropy", optimizer="sgd", lr=0.01, batch_size=batch_size,
                epochs=epochs, seed=0, progress=False, diagnostics=False)


def single_process(args):
    """descent.train with one BLAS thread: examples per second at each batch size."""
    import descent
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    X = rng.random((args.rows, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], args.rows)
    speeds = {}
    with threadpool_limits(limits=1):
        for batch_size in sorted(set(args.batch_sizes)):
            model = descent.nn.MLP(SIZES, rng=0)
            # the graph engine, which the Dask workers run too
            history = descent.train(model, X, y, engine="graph",
                                    **options(batch_size, args.epochs))
            speeds[batch_size] = args.rows / epoch_seconds(history)
    return speeds


def on_cluster(args, workers, runs):
    """Examples per second of each ``(batch_size, sync_every)`` in ``runs`` on a
    LocalCluster of ``workers`` processes."""
    import dask
    import dask.array as da
    import distributed

    import descent
    import descent.distributed
    from descent.distributed.cluster import local_client

    speeds = {}
    with tempfile.TemporaryDirectory() as scratch, \
            dask.config.set({"temporary-directory": scratch}), \
            local_client(workers, scratch=scratch) as client:
        rows = -(-args.rows // workers)
        X = da.random.default_rng(0).random((args.rows, SIZES[0]), chunks=(rows, -1),
                                            dtype=np.float32).persist()
        y = da.random.default_rng(1).integers(0, SIZES[-1], args.rows, chunks=rows).persist()
        distributed.wait([X, y])
        for batch_size, sync_every in runs:
            model = descent.nn.MLP(SIZES, rng=0)
            history = descent.distributed.train(model, X, y, client=client,
                                                sync_every=sync_every,
                                                **options(batch_size, args.epochs))
            speeds[batch_size, sync_every] = args.rows / epoch_seconds(history)
    return speeds


def main(argv=None):
    args = parse_args(argv)
    smallest = min(args.batch_sizes)
    print(f"descent.distributed: MLP {'-'.join(map(str, SIZES))}, float32, SGD, "
          f"{args.rows:,} rows, {args.epochs} epochs a run (the first untimed)",
          file=sys.stderr)
    before = os.getloadavg()[0]
    alone = single_process(args)
    results = []
    for workers in (1, 2):
        runs = [(b, None) for b in args.batch_sizes]
        if workers == 2:
            runs += [(smallest, h) for h in args.local]
        for (batch_size, sync_every), speed in on_cluster(args, workers, runs).items():
            results.append({
                "mode": "synchronous" if sync_every is None else f"local SGD, H={sync_every}",
                "workers": workers, "batch_size": batch_size,
                "rows_per_worker": batch_size // workers,
                "examples_per_second": speed,
                "single_process": alone[batch_size],
                "efficiency": speed / (workers * alone[batch_size])})
    print("| mode | workers | global batch | rows per worker per step | examples/s "
          "| descent.train, 1 thread | efficiency |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: (r["mode"] != "synchronous", r["mode"],
                                            r["batch_size"], r["workers"])):
        print(f"| {r['mode']} | {r['workers']} | {r['batch_size']:,} | "
              f"{r['rows_per_worker']:,} | {r['examples_per_second']:,.0f} | "
              f"{r['single_process']:,.0f} | {r['efficiency']:.0%} |")
    load = (before, os.getloadavg()[0])
    print(f"\n{os.cpu_count()} CPUs; load average {load[0]:.2f} before, {load[1]:.2f} after")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({"rows": args.rows, "sizes": SIZES, "load_average": load,
                       "results": results}, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
