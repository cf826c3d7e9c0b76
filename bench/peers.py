"""The optional contenders — descent's compiled path, JAX (jit per step and
``lax.scan``), ``torch.compile`` — and the report of what compiling costs.

A case lists its optional contenders as ``{name: (available, contender)}``; those whose
library is not installed are left out with a note, and in ``--quick`` mode JAX and
torch.compile are left out too (their compiling alone would take longer than the whole
smoke run). Targets against JAX take the better of its two ways (``JAX``).
"""

import json
import os
import subprocess
import sys
import tempfile

from bench import harness

COMPILED = harness.COMPILED
JAX = ("jax-step", "jax-scan")
SLOW_TO_COMPILE = ("jax-step", "jax-scan", "torch-compile")
LIBRARY = {"descent-compiled": "numba (pip install 'descent[fast]')", "jax-step": "jax",
           "jax-scan": "jax", "torch-compile": "torch.compile (a C++ compiler)"}


def contenders(required, optional, cfg):
    """The case's contenders that can run here, and a note about those that cannot."""
    chosen, notes = dict(required), []
    for name, (available, contender) in optional.items():
        if cfg.quick and name in SLOW_TO_COMPILE:
            notes.append(f"{name} is left out of --quick runs (compiling takes longer than "
                         "the smoke run)")
        elif not available():
            notes.append(f"{name} skipped: {LIBRARY[name]} is not installed")
        else:
            chosen[name] = contender
    return chosen, notes


def compile_notes(results):
    """A note giving each compiled contender's compile time, where it reported one."""
    found = {name: r["compile_s"] for name, r in results.items()
             if r.get("compile_s") is not None}
    if not found:
        return []
    return ["compile time (outside the timed runs, first round): " + ", ".join(
        f"{name} {seconds:.2f} s" for name, seconds in found.items())]


def compile_section(case_id, directory, threads, results, title):
    """What compiling costs a fresh process, for the compiled contenders of a case whose
    data lies in ``directory``: descent's compiled path in two fresh processes sharing a
    Numba cache — the first compiles (an empty cache), the second reads what the first
    wrote — each timing the kernels' loading and its first and second epoch; JAX and
    torch.compile from this process's first round (``compile_s``) and medians."""
    rows = {}
    with tempfile.TemporaryDirectory(prefix="descent-numba-cache-") as cache:
        for label in ("empty cache", "cached"):
            probe = _first_epochs(directory, threads, cache)
            rows[f"{COMPILED} ({label})"] = {
                "times": [probe["first_s"]], "median": probe["first_s"],
                "min": probe["first_s"], "max": probe["first_s"],
                "load_s": probe["load_s"], "steady_s": probe["second_s"],
                "first_with_load_s": probe["load_s"] + probe["first_s"]}
    for name in ("jax-step", "jax-scan", "torch-compile"):
        if name in results and results[name].get("compile_s") is not None:
            r = results[name]
            first = r["compile_s"] + r["median"]
            rows[name] = {"times": [first], "median": first, "min": first, "max": first,
                          "load_s": r["compile_s"], "steady_s": r["median"],
                          "first_with_load_s": first}
    return {
        "case": case_id, "id": "compile", "title": title, "unit": "s", "per": 1,
        "per_label": "first epoch", "steps": 1,
        "show": ["load_s", "first_with_load_s", "steady_s"], "contenders": rows,
        "notes": [
            "load_s: compiling (descent: Numba, JAX: XLA, torch: inductor) or, for "
            "descent's second process, reading the kernels from Numba's cache on disk",
            "median/first epoch: the first epoch after that (descent: in a fresh process); "
            "first_with_load_s: the two together; steady_s: a later epoch",
        ],
    }


def _first_epochs(directory, threads, cache):
    command = [sys.executable, "-m", "bench.firstrun", "--data", str(directory),
               "--threads", str(threads)]
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(harness.REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    done = subprocess.run(command, cwd=harness.REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"the first-epoch probe failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
