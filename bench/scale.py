"""Streaming on one machine: peak memory and speed of ``descent train`` on tables of 1×,
4× and 16× a fixed size, read a block at a time within ``--memory``, against the same
tables read whole. Run it from the repository root with:

    python -m bench.scale

It writes Parquet and CSV files of ``--rows`` × ``--columns`` float32 features and a
target (a linear function of them plus noise) to a temporary folder, each size written
a piece at a time, then runs ``descent train`` on each as its own process: once with
``--memory`` (streamed; the model file says so), once with a budget large enough to
read it whole (``--whole-up-to`` sets the largest factor read whole). For each run it
records the peak resident memory of that process (its own ``VmHWM``) and the
training throughput: training rows × epochs over the time the training loop took (the
history's ``time``, which leaves out starting Python, reading for the statistics and
writing the model); the wall time of the whole command is beside it. The memory of
``descent train`` on a 1,000-row file of the same format is the floor (the interpreter
and the libraries); the budget bounds what a run adds to it.

Options:
  --rows N          rows of the 1× table (default 200,000)
  --columns N       feature columns (default 20)
  --factors 1,4,16  the sizes, as multiples of --rows
  --formats parquet,csv
  --memory MB       the budget of the streamed runs (default 64)
  --epochs N        (default 2)   --hidden SIZES (default 64)   --batch-size N (256)
  --whole-up-to F   read whole the tables up to this factor (default 16: all)
  --threads N       BLAS threads of each run (default 2)
  --quick           a smoke run: 50,000 rows, factors 1,4, one epoch, --memory 32
  --json PATH       where to write the results (default bench-results/scale.json)
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import harness

DEFAULT_JSON = harness.REPO_ROOT / "bench-results" / "scale.json"
_PIECE_ROWS = 100_000  # rows generated and written at a time
_ROW_GROUP_ROWS = 100_000  # Parquet row groups: the blocks a streamed epoch shuffles
# Runs ``descent train`` and writes its process's peak resident memory (VmHWM, KiB) to
# the file named first: the child's own peak, which rusage would mix with the size of
# the benchmark's process when it forked.
_REPORT_PEAK = """
import sys
from descent import cli
code = cli.main(sys.argv[2:])
try:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
    with open(sys.argv[1], "w") as out:
        out.write(peak)
except OSError:
    pass
sys.exit(code)
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.scale",
                                     description="descent train streamed vs read whole.")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--factors", default="1,4,16")
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument("--memory", type=float, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--hidden", default="64")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--whole-up-to", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=str(DEFAULT_JSON))
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.factors, args.epochs, args.memory = 50_000, "1,4", 1, 32
    args.factors = [int(f) for f in args.factors.split(",")]
    args.formats = [f.strip() for f in args.formats.split(",")]
    unknown = set(args.formats) - {"parquet", "csv"}
    if unknown or min(args.factors) < 1 or args.rows < 1000:
        parser.error(f"formats are parquet and csv (got {sorted(unknown)}); factors >= 1; "
                     "rows >= 1000")
    return args


def _pieces(rows, columns, seed):
    """The table, ``_PIECE_ROWS`` rows at a time (the same rows for every size: a size
    of k× is the 1× table's generator run k times as long)."""
    import pandas

    rng = np.random.default_rng(seed)
    weights = rng.normal(size=columns)
    for start in range(0, rows, _PIECE_ROWS):
        n = min(_PIECE_ROWS, rows - start)
        X = rng.normal(size=(n, columns)).astype(np.float32)
        frame = pandas.DataFrame(X, columns=[f"x{i}" for i in range(columns)])
        frame["y"] = (X @ weights + 0.1 * rng.normal(size=n)).astype(np.float32)
        yield frame


def write_table(path, rows, columns, seed):
    """Write the table to ``path`` (``.parquet`` or ``.csv``) a piece at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    with open(path, "w", newline="") if path.suffix == ".csv" else _nothing() as text:
        for index, frame in enumerate(_pieces(rows, columns, seed)):
            if text is not None:
                frame.to_csv(text, index=False, header=index == 0)
                continue
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=_ROW_GROUP_ROWS)
    if writer is not None:
        writer.close()


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def run_train(path, memory, args, folder):
    """Run ``descent train`` on ``path``; its peak RSS (MiB), wall time, the training
    loop's time and rows, and whether it streamed."""
    model, history = folder / "model.descent", folder / "history.json"
    peak_file = folder / "peak.txt"
    command = [sys.executable, "-c", _REPORT_PEAK, str(peak_file), "train", str(path),
               "--target", "y",
               "--memory", f"{memory:g}", "--epochs", str(args.epochs), "--hidden",
               args.hidden, "--batch-size", str(args.batch_size), "--seed", str(args.seed),
               "--no-progress", "-o", str(model), "--history", str(history)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads),
           "OPENBLAS_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
           "PYTHONPATH": os.pathsep.join([str(harness.REPO_ROOT),
                                          os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=env, cwd=folder)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    error = process.stderr.read().decode()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {error}")
    if peak_file.exists():
        peak = float(peak_file.read_text()) / 1024
        peak_file.unlink()
    else:  # no /proc: the rusage of the child (which counts the parent's size at fork)
        peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    import descent
    from descent.training.history import History

    training = descent.load(model).metadata["training"]
    seconds = History.read(history).records[-1]["time"]
    return {"peak_mib": peak, "wall_s": wall, "train_s": seconds,
            "rows": training["rows"], "validation_rows": training["validation_rows"],
            "rows_per_s": training["rows"] * args.epochs / seconds,
            "streamed": "memory_mb" in training}


def main(argv=None):
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="descent-scale-"))
    results = []
    print(f"descent streaming benchmark{' (quick smoke mode)' if args.quick else ''}: "
          f"{args.rows:,} rows × {args.columns} float32 features (+ target) per 1×, "
          f"--memory {args.memory:g} MB, {args.epochs} epochs, --hidden {args.hidden}, "
          f"--batch-size {args.batch_size}, {args.threads} BLAS threads")
    print(f"  {harness._cpu_model()}, {os.cpu_count()} CPUs, load {harness._loadavg()}",
          flush=True)
    try:
        floor = {}
        for kind in args.formats:
            tiny = folder / f"tiny.{kind}"
            write_table(tiny, 1000, args.columns, args.seed)
            floor[kind] = run_train(tiny, 100_000, args, folder)["peak_mib"]
            for factor in args.factors:
                path = folder / f"table-{factor}x.{kind}"
                write_table(path, args.rows * factor, args.columns, args.seed)
                size = path.stat().st_size / 2 ** 20
                modes = [("streamed", args.memory)]
                if factor <= args.whole_up_to:
                    modes.append(("whole", 1_000_000))
                for mode, memory in modes:
                    result = run_train(path, memory, args, folder)
                    if result["streamed"] != (mode == "streamed"):
                        raise RuntimeError(f"{path} was not {mode} with --memory {memory:g}")
                    results.append({"format": kind, "factor": factor,
                                    "table_rows": args.rows * factor, "file_mib": size,
                                    "mode": mode, "memory_mb": memory if mode == "streamed"
                                    else None, **result})
                    print(f"  {kind:<8}{factor:>3}×  {mode:<9} peak {result['peak_mib']:7.1f}"
                          f" MiB  {result['rows_per_s']:>10,.0f} rows/s", file=sys.stderr,
                          flush=True)
                path.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for line in table_lines(results, floor, args):
        print(line)
    payload = {"command": "python -m bench.scale " + " ".join(
        argv if argv is not None else sys.argv[1:]), "arguments": vars(args),
        "floor_mib": floor, "runs": results, "cpu": harness._cpu_model(),
        "cpu_count": os.cpu_count()}
    path = harness.write_json(args.json, payload)
    print(f"results written to {path}")
    return payload


def table_lines(results, floor, args):
    """The results as a Markdown table: peak memory above the floor, and throughput and
    wall time against the same table read whole (the largest read whole, when this
    size was not)."""
    whole = {(r["format"], r["factor"]): r for r in results if r["mode"] == "whole"}
    header = ["format", "size", "rows", "file MiB", "read", "peak RSS MiB", "above floor",
              "train rows/s", "× whole", "wall s", "× whole"]
    rows = []
    for r in results:
        base = whole.get((r["format"], r["factor"])) or max(
            (w for w in whole.values() if w["format"] == r["format"]),
            key=lambda w: w["factor"], default=None)
        rows.append([r["format"], f"{r['factor']}×", f"{r['table_rows']:,}",
                     f"{r['file_mib']:,.0f}",
                     f"streamed, --memory {r['memory_mb']:g}" if r["mode"] == "streamed"
                     else "whole", f"{r['peak_mib']:,.0f}",
                     f"{r['peak_mib'] - floor[r['format']]:,.0f}",
                     f"{r['rows_per_s']:,.0f}",
                     f"{r['rows_per_s'] / base['rows_per_s']:.2f}" if base else "—",
                     f"{r['wall_s']:.1f}",
                     f"{r['wall_s'] / base['wall_s']:.2f}" if base else "—"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    floors = ", ".join(f"{kind} {mib:,.0f} MiB" for kind, mib in floor.items())
    lines = [f"floor (peak RSS of descent train on 1,000 rows): {floors}", "",
             "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.rjust(w) if i > 1 else c.ljust(w)
                                for i, (c, w) in enumerate(zip(row, widths))) + " |"
              for row in rows]
    return lines


if __name__ == "__main__":
    main()
