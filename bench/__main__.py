"""descent's benchmark suite. Run it from the repository root with:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench

(the benchmark may unset both so OpenBLAS picks its kernel for this CPU; the tests and CI
never do). It needs the test extra: ``pip install -e '.[test]'`` (torch, scikit-learn,
micrograd, threadpoolctl).

Every case also runs, where installed, descent's compiled path (``descent-compiled``,
``pip install 'descent[fast]'``), JAX jitted per step and as one ``lax.scan``
(``pip install jax``) and ``torch.compile`` — the last two left out of ``--quick``.

Every case runs descent and its peers in the same process, interleaved round by round:
one warm-up round, then several repeats; it prints the median and min–max of each, the
ratio descent / peer, and PASS/MISS against the targets, then writes everything to JSON.
Data generation, model construction and evaluation are outside the timed regions. All
contenders get the same thread count (threadpoolctl for every BLAS/OpenMP pool,
``torch.set_num_threads``).

Cases (``--cases``):
  a  MNIST-shaped 60,000×784, MLP 784-256-256-10, batch 128, one epoch of SGD and of Adam:
     descent, PyTorch, scikit-learn, hand-written NumPy, the matmul floor; time + memory;
     and what compiling costs a fresh process (the ``compile`` section)
  b  the notes' 3-2-1 sigmoid MLP, SGD batch 1, 10,000 steps: descent, PyTorch,
     micrograd, NumPy
  c  XOR 2-4-1, full-batch gradient descent, 1,000 steps: the same four
  d  scikit-learn's digits, 64-64-10, Adam, batch 32, 50 epochs: time and test accuracy

Options:
  --quick          smoke mode: tiny sizes, 1 repeat, no warm-up (seconds in all)
  --cases a,b,c,d  which cases to run (default: all)
  --repeats N      kept repeats per case (default: a 5, b 5, c 5, d 3)
  --warmup N       warm-up rounds (default 1; 0 with --quick)
  --threads N      threads for every contender (default 2)
  --seed N         data, weights and batch order (default 0)
  --json PATH      where to write the results (default bench-results/results.json)
  --quiet          no per-run progress lines on stderr

Memory and speed of training on tables larger than memory (streamed within --memory,
against the same tables read whole) are a benchmark of their own: python -m bench.scale
(docs/scale.md).
"""

import argparse
import importlib
import sys
import time
import warnings

from bench import harness

CASES = {"a": "bench.cases.mnist", "b": "bench.cases.notes_321", "c": "bench.cases.xor",
         "d": "bench.cases.digits"}
DEFAULT_JSON = harness.REPO_ROOT / "bench-results" / "results.json"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="descent against its peers, case by case.")
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode: tiny sizes, 1 repeat, no warm-up")
    parser.add_argument("--cases", default="a,b,c,d",
                        help="comma-separated cases from a,b,c,d (default: all)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="kept repeats per case (default: the case's own)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="warm-up rounds (default 1, 0 with --quick)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for every contender (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(DEFAULT_JSON),
                        help="results file (default bench-results/results.json)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown or not cases:
        parser.error(f"unknown case(s) {unknown}; choose from {','.join(CASES)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.warmup is not None and args.warmup < 0:
        parser.error("--warmup must be at least 0")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    args.cases = cases
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = harness.Config(quick=args.quick, repeats=args.repeats, warmup=args.warmup,
                         threads=args.threads, seed=args.seed, verbose=not args.quiet)
    start = time.perf_counter()
    # Load every library (and so every thread pool) before capping the threads: the
    # compiled kernels call the OpenBLAS SciPy ships, a pool of its own.
    import micrograd.engine  # noqa: F401
    import scipy.linalg.cython_blas  # noqa: F401
    import sklearn.neural_network  # noqa: F401
    import torch  # noqa: F401

    import descent  # noqa: F401
    from bench import jax_peers
    if jax_peers.available():
        import jax  # noqa: F401  (XLA's own pool: as many threads as CPUs)

    modules = {case: importlib.import_module(CASES[case]) for case in args.cases}
    sections = []
    with harness.limit_threads(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        env = harness.environment(args.threads)
        print("descent benchmark" + (" (quick smoke mode)" if args.quick else ""))
        for line in harness.environment_lines(env):
            print("  " + line)
        print(flush=True)
        for case, module in modules.items():
            cfg.say(f"case {case} ({CASES[case]})")
            case_start = time.perf_counter()
            case_sections = module.run(cfg)
            for section in case_sections:
                section["seconds"] = time.perf_counter() - case_start
                for line in harness.section_table(section):
                    print(line)
                print(flush=True)
            sections.extend(case_sections)
    elapsed = time.perf_counter() - start
    env["loadavg_end"] = harness._loadavg()
    for line in harness.summary_lines(sections):
        print(line)
    print(f"total {elapsed:.1f} s; load average at end {env['loadavg_end']}")
    payload = {
        "command": "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench "
                   + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick, "threads": args.threads, "seed": args.seed,
        "environment": env, "elapsed_s": elapsed,
        "cases": {case: {"module": CASES[case],
                         "sections": {s["id"]: s for s in sections if s["case"] == case}}
                  for case in args.cases},
    }
    path = harness.write_json(args.json, payload)
    print(f"results written to {path}")
    return payload


if __name__ == "__main__":
    main()
