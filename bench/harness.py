"""The benchmark harness: timing, threads, environment report, memory probes, targets,
the printed table and the JSON file.

How a contender is timed
------------------------
A contender is a plain function ``contender(data, timer) -> dict``. It builds its model
and optimiser from ``data`` (untimed), runs its training inside ``with timer:`` (the only
timed region) and returns a few numbers to check it against the others (final loss,
accuracy, ...), computed after the timed block. :func:`run_interleaved` runs every
contender of a case once per round, round after round, so a slow spell of the machine
hits all of them alike: ``warmup`` rounds first (discarded), then ``repeats`` rounds
(kept). The order inside a round rotates. Before each timed block the garbage collector
runs once; during it the collector is left on, as users get it.

Each timed run also records the share of the CPUs that *other* processes used meanwhile
(``/proc/stat`` minus this process's CPU time, steal time included); the table warns
when it reaches 10 %, since a benchmark on a shared machine is disturbed by them.

Threads
-------
:func:`limit_threads` caps every BLAS and OpenMP pool threadpoolctl can see
(``threadpool_limits``) and PyTorch's intra-op pool (``torch.set_num_threads``) at the
same number, so each contender gets the same thread count.

Memory
------
:func:`measure_memory` runs one contender in a fresh Python process
(``python -m bench.memprobe``) and reports the peak resident memory added by training:
the peak during the timed block minus the resident memory just before it, in MiB, by
the same method for every contender. The peak is the kernel's per-process high-water
mark ``VmHWM`` (reset just before training through ``/proc/self/clear_refs``), not
``ru_maxrss``: on Linux a child's ``ru_maxrss`` starts at its parent's peak (the
counter survives ``exec``), so a child of a 400 MiB parent reports 400 MiB even when it
holds 11. Where ``/proc`` cannot be used it falls back to ``ru_maxrss``.
"""

import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPILED = "descent-compiled"  # the compiled path's contender, with a column of its own
CONTENTION_WARNING = 0.10     # share of the CPUs other processes used during a timed run
MIN_CONTENTION_WINDOW = 0.25  # seconds: shorter runs get no contention figure


# ----------------------------------------------------------------------------- config
@dataclass
class Config:
    """What the command line asked for."""

    quick: bool = False
    repeats: int | None = None    # None: each case's own default
    warmup: int | None = None     # None: 1 (0 in quick mode)
    threads: int = 2
    seed: int = 0
    verbose: bool = True

    def repeats_for(self, default):
        if self.repeats is not None:
            return self.repeats
        return 1 if self.quick else default

    def warmup_rounds(self):
        if self.warmup is not None:
            return self.warmup
        return 0 if self.quick else 1

    def say(self, message):
        if self.verbose:
            print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- timing
def _busy_seconds():
    """CPU seconds all processes have spent busy (user, system, irq, steal), or None."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICKS


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _own_seconds():
    t = os.times()
    return t.user + t.system


class Timer:
    """The timed region of one contender run: ``with timer: <training>``.

    Besides the wall time it records ``foreign``: the share of the machine's CPUs that
    other processes (and the hypervisor, as steal time) used during the block, from
    ``/proc/stat`` minus this process's own CPU time. A run that shared the machine
    shows up there instead of silently as a slow run.
    """

    def __init__(self):
        self.elapsed = None
        self.foreign = None

    def __enter__(self):
        gc.collect()
        self._busy, self._own = _busy_seconds(), _own_seconds()
        self._start = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.elapsed = time.perf_counter() - self._start
            busy = _busy_seconds()
            # /proc/stat and times() count in ticks (10 ms): too coarse for short runs.
            if busy is not None and self._busy is not None and \
                    self.elapsed >= MIN_CONTENTION_WINDOW:
                others = (busy - self._busy) - (_own_seconds() - self._own)
                self.foreign = min(max(others / (self.elapsed * (os.cpu_count() or 1)),
                                       0.0), 1.0)
        return False


def summarise(times):
    """Median, minimum and maximum of a list of seconds."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def run_interleaved(contenders, data, repeats, warmup, say=None):
    """Run every contender ``warmup + repeats`` times, interleaved round by round.

    Returns ``{name: {"times": [seconds, ...], "median", "min", "max", **extras}}`` with
    the extras (a dict the contender returns) of its last kept run.
    """
    names = list(contenders)
    results = {name: {"times": [], "foreign_cpu": []} for name in names}
    for round_index in range(warmup + repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            timer = Timer()
            extras = contenders[name](data, timer) or {}
            if timer.elapsed is None:
                raise RuntimeError(f"contender {name!r} never entered its timed block")
            kept = round_index >= warmup
            if kept:
                results[name]["times"].append(timer.elapsed)
                results[name]["foreign_cpu"].append(timer.foreign)
                results[name].update(extras)
            if say:
                label = "warm-up" if not kept else f"repeat {round_index - warmup + 1}"
                busy = "" if timer.foreign is None else \
                    f"  (other processes: {100 * timer.foreign:.0f}% of the CPUs)"
                say(f"    {name:<10} {label:<9} {timer.elapsed:9.4f} s{busy}")
    for name in names:
        results[name].update(summarise(results[name]["times"]))
    return results


# ----------------------------------------------------------------------------- threads
@contextmanager
def limit_threads(threads):
    """Give every BLAS/OpenMP pool and PyTorch the same number of threads.

    Import the libraries first: threadpoolctl only sees pools already loaded.
    """
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(previous)


# ----------------------------------------------------------------------------- environment
def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(threads):
    """Versions, CPU, BLAS pools (as threadpoolctl sees them now) and thread settings."""
    from threadpoolctl import threadpool_info

    torch = sys.modules.get("torch")
    pools = [{key: pool.get(key) for key in ("user_api", "internal_api", "prefix",
                                             "version", "architecture", "threading_layer",
                                             "num_threads", "filepath")}
             for pool in threadpool_info()]
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "descent": getattr(sys.modules.get("descent"), "__version__", None)
        or _version("descent"),
        "torch": _version("torch"),
        "scikit-learn": _version("scikit-learn"),
        "micrograd": _version("micrograd"),
        "numba": _version("numba"),
        "jax": _version("jax"),
        "scipy": _version("scipy"),
        "threadpoolctl": _version("threadpoolctl"),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "pools": pools,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_start": _loadavg(),
        "foreign_cpu_start": foreign_cpu_share(),
    }
    if torch is not None:
        env["torch_mkl"] = bool(torch.backends.mkl.is_available())
        env["torch_mkldnn"] = bool(torch.backends.mkldnn.is_available())
    return env


def foreign_cpu_share(seconds=1.0):
    """The share of the CPUs other processes use right now, sampled over ``seconds``."""
    timer = Timer()
    with timer:
        time.sleep(max(seconds, MIN_CONTENTION_WINDOW))
    return timer.foreign


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def environment_lines(env):
    lines = [
        f"Python {env['python']} · NumPy {env['numpy']} · descent {env['descent']} · "
        f"torch {env['torch']} · scikit-learn {env['scikit-learn']} · "
        f"micrograd {env['micrograd']} · threadpoolctl {env['threadpoolctl']} · "
        f"numba {env.get('numba')} · jax {env.get('jax')} · SciPy {env.get('scipy')}",
        f"CPU: {env['cpu']} ({env['cpu_count']} logical CPUs) · {env['platform']}",
    ]
    for pool in env["pools"]:
        name = os.path.basename(pool["filepath"] or "?")
        if pool["user_api"] == "blas":
            lines.append(
                f"BLAS: {pool['internal_api']} {pool['version']} · kernel "
                f"{pool['architecture']} · {pool['threading_layer']} · "
                f"{pool['num_threads']} threads · {name}")
        else:
            lines.append(f"{pool['user_api']}: {pool['prefix']} · "
                         f"{pool['num_threads']} threads · {name}")
    if env.get("torch_threads") is not None:
        lines.append(f"PyTorch: {env['torch_threads']} intra-op threads · MKL "
                     f"{'yes' if env.get('torch_mkl') else 'no'} · oneDNN "
                     f"{'yes' if env.get('torch_mkldnn') else 'no'} (its own BLAS, "
                     "capped by torch.set_num_threads)")
    lines.append(
        f"threads: {env['threads']} for every contender · OPENBLAS_CORETYPE "
        f"{'= ' + env['OPENBLAS_CORETYPE'] if env['OPENBLAS_CORETYPE'] else 'not set'} · "
        f"OPENBLAS_L2_SIZE "
        f"{'= ' + env['OPENBLAS_L2_SIZE'] if env['OPENBLAS_L2_SIZE'] else 'not set'} · "
        f"load average at start {env['loadavg_start']}")
    if env.get("foreign_cpu_start") is not None:
        lines.append(f"other processes used {100 * env['foreign_cpu_start']:.0f}% of the CPUs "
                     "in the second before the run")
    return lines


# ----------------------------------------------------------------------------- memory
def save_data(data, directory):
    """Write a case's data (arrays and JSON-able scalars) for a memory probe."""
    directory = Path(directory)
    meta = {}
    for key, value in data.items():
        if isinstance(value, np.ndarray):
            np.save(directory / f"{key}.npy", value, allow_pickle=False)
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, np.ndarray) for v in value):
            for i, v in enumerate(value):
                np.save(directory / f"{key}.{i}.npy", v, allow_pickle=False)
            meta[key] = {"__arrays__": len(value)}
        else:
            meta[key] = value
    (directory / "meta.json").write_text(json.dumps(meta))


def load_data(directory):
    directory = Path(directory)
    data = {}
    for path in directory.glob("*.npy"):
        if path.stem.count(".") == 0:
            data[path.stem] = np.load(path, allow_pickle=False)
    for key, value in json.loads((directory / "meta.json").read_text()).items():
        if isinstance(value, dict) and "__arrays__" in value:
            data[key] = [np.load(directory / f"{key}.{i}.npy", allow_pickle=False)
                         for i in range(value["__arrays__"])]
        else:
            data[key] = value
    return data


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


class MemoryTimer(Timer):
    """A timer that also records the peak resident memory added inside its block."""

    def __enter__(self):
        gc.collect()
        self.method = "VmHWM"
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset the high-water mark to the current RSS
            self.before = _status_kib("VmRSS")
        except OSError:
            self.method = "ru_maxrss"
            self.before = _current_rss_kib()
        return super().__enter__()

    def __exit__(self, exc_type, exc, tb):
        result = super().__exit__(exc_type, exc, tb)
        if self.method == "VmHWM":
            self.peak = _status_kib("VmHWM")
        else:
            import resource
            self.peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if sys.platform == "darwin":
                self.peak //= 1024
        return result

    @property
    def added_mib(self):
        return max(self.peak - self.before, 0) / 1024


def _current_rss_kib():
    try:
        return _status_kib("VmRSS")
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _probe_command(case_module, contender, data_dir, threads, extra):
    command = [sys.executable, "-m", "bench.memprobe", "--case", case_module,
               "--contender", contender, "--data", str(data_dir),
               "--threads", str(threads), "--extra", json.dumps(extra or {})]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return command, env


def measure_memory(case_module, contenders, data_dir, threads, extra=None,
                   parallel=False, timeout=600):
    """Peak RSS added by training, in MiB, each contender in a fresh process.

    Returns ``{contender: probe result}``. ``parallel`` starts all the probes at once
    (the smoke mode does, to save interpreter starts and imports); the memory each one
    reports is its own, but the timings they print are then meaningless.
    """
    def start(name):
        command, env = _probe_command(case_module, name, data_dir, threads, extra)
        return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def finish(name, process):
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise RuntimeError(f"memory probe for {name} took over {timeout} s") from None
        if process.returncode != 0:
            raise RuntimeError(f"memory probe for {name} failed:\n{err[-3000:]}")
        return json.loads(out.strip().splitlines()[-1])

    results = {}
    if parallel:
        running = {name: start(name) for name in contenders}
        for name, process in running.items():
            results[name] = finish(name, process)
    else:
        for name in contenders:
            results[name] = finish(name, start(name))
    return results


@contextmanager
def data_directory(data):
    """A temporary directory holding ``data`` for the memory probes."""
    with tempfile.TemporaryDirectory(prefix="descent-bench-") as directory:
        save_data(data, directory)
        yield directory


# ----------------------------------------------------------------------------- targets
@dataclass
class Target:
    """``subject``'s ``metric`` over ``peer``'s must satisfy ``op bound``.

    ``metric`` is ``"time"`` (ratio of medians), ``"memory"`` (ratio of peak MiB added)
    or ``"accuracy"`` (the subject's accuracy minus the best peer's, in points; ``peer``
    is ignored and ``bound`` is the allowed shortfall). ``peer`` may be a tuple of
    contenders: then the best of those that ran (the least time or memory). The subject
    is descent's graph engine unless named (``"descent-compiled"``).
    """

    peer: object
    bound: float
    metric: str = "time"
    op: str = "<="
    subject: str = "descent"

    def text(self):
        if self.metric == "accuracy":
            return f"≥ −{self.bound:g} pt"
        return f"{'≤' if self.op == '<=' else '<'} {self.bound:.2f}"

    def check(self, value):
        if value is None or not math.isfinite(value):
            return False
        if self.metric == "accuracy":
            return value >= -self.bound - 1e-12
        return value <= self.bound if self.op == "<=" else value < self.bound


def ratio(ours, theirs):
    if ours is None or theirs is None:
        return None
    if theirs <= 0:
        return 1.0 if ours <= 0 else math.inf
    return ours / theirs


def _best_peer(rows, target):
    """The peer a target compares with: itself, or the best of a tuple that ran (None
    when none of them did)."""
    if not isinstance(target.peer, tuple):
        return target.peer
    key = "median" if target.metric == "time" else "memory_mib"
    ran = [name for name in target.peer if rows.get(name, {}).get(key) is not None]
    return min(ran, key=lambda name: rows[name][key]) if ran else None


def evaluate_targets(section, targets, descent="descent"):
    """Fill ``section["targets"]`` with each target's value and PASS/MISS (``None``, not
    measured, when its subject or peer did not run)."""
    rows = section["contenders"]
    out = []
    for target in targets:
        subject = target.subject if target.subject != "descent" else descent
        peer = _best_peer(rows, target)
        if target.metric in ("time", "memory") and (subject not in rows or peer is None):
            value = None
        elif target.metric == "time":
            value = ratio(rows[subject]["median"], rows[peer]["median"])
        elif target.metric == "memory":
            value = ratio(rows[subject].get("memory_mib"), rows[peer].get("memory_mib"))
        elif target.metric == "accuracy":
            peers = {n: r["accuracy"] for n, r in rows.items()
                     if n != descent and r.get("accuracy") is not None}
            best = max(peers, key=peers.get)
            value = 100.0 * (rows[descent]["accuracy"] - peers[best])
            target = Target(best, target.bound, "accuracy")
            peer = best
        else:
            raise ValueError(f"unknown metric {target.metric!r}")
        out.append({"metric": target.metric, "subject": target.subject,
                    "peer": peer if peer is not None else "/".join(target.peer),
                    "peers": list(target.peer) if isinstance(target.peer, tuple) else None,
                    "op": target.op,
                    "bound": target.bound, "target": target.text(), "value": value,
                    # None: not measured in this run (e.g. memory in --quick Adam)
                    "pass": None if value is None else bool(target.check(value))})
    section["targets"] = out
    return out


# ----------------------------------------------------------------------------- table
def _fmt_time(seconds, unit):
    if unit == "us":
        return f"{seconds * 1e6:,.1f} µs"
    if unit == "ms":
        return f"{seconds * 1e3:,.1f} ms"
    return f"{seconds:,.3f} s"


def _verdict(target):
    if target is None:
        return ""
    return "n/a" if target["pass"] is None else "PASS" if target["pass"] else "MISS"


def _fmt_ratio(value):
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "inf"
    return f"{value:.2f}"


def section_table(section):
    """The printed rows of a section, as a list of strings."""
    unit = section["unit"]
    per = section.get("per", 1)
    has_memory = any("memory_mib" in r for r in section["contenders"].values())
    extra_keys = section.get("show", [])
    targets = {}
    for t in section.get("targets", []):
        if t.get("subject", "descent") == "descent":
            targets.setdefault((t["metric"], t["peer"]), t)
    compiled = section["contenders"].get(COMPILED)

    header = ["contender", f"median/{section['per_label']}", "min – max", "descent/x",
              "target", "verdict"]
    if compiled is not None:
        header += ["compiled/x"]
    if has_memory:
        header += ["added MiB", "descent/x", "target", "verdict"]
    header += extra_keys
    rows = [header]
    descent = section["contenders"].get("descent")
    for name, r in section["contenders"].items():
        t = targets.get(("time", name))
        row = [name, _fmt_time(r["median"] / per, unit),
               f"{_fmt_time(r['min'] / per, unit)} – {_fmt_time(r['max'] / per, unit)}",
               "—" if name == "descent" or descent is None else
               _fmt_ratio(ratio(descent["median"], r["median"])),
               t["target"] if t else "", _verdict(t)]
        if compiled is not None:
            row.append("—" if name == COMPILED else _fmt_ratio(ratio(compiled["median"],
                                                                     r["median"])))
        if has_memory:
            m = targets.get(("memory", name))
            mib = r.get("memory_mib")
            row += ["—" if mib is None else f"{mib:,.1f}",
                    "—" if name == "descent" or mib is None or descent is None else
                    _fmt_ratio(ratio(descent.get("memory_mib"), mib)),
                    m["target"] if m else "", _verdict(m)]
        for key in extra_keys:
            value = r.get(key)
            row.append("—" if value is None else
                       f"{value:.4f}" if isinstance(value, float) else str(value))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"{section['case']}) {section['title']}"]
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  " + "  ".join(cells).rstrip())
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    for t in section.get("targets", []):
        if t["metric"] == "accuracy":
            lines.append(
                f"  accuracy: descent − best peer ({t['peer']}) = {t['value']:+.2f} pt, "
                f"target {t['target']}: {_verdict(t)}")
        elif t.get("subject", "descent") != "descent":
            best = f"best of {', '.join(t['peers'])}: {t['peer']}" if t.get("peers") \
                else t["peer"]
            what = "memory" if t["metric"] == "memory" else "time"
            lines.append(f"  target: {t['subject']} / {best} ({what}) = "
                         f"{_fmt_ratio(t['value'])}, {t['target']}: {_verdict(t)}")
    for note in section.get("notes", []):
        lines.append(f"  note: {note}")
    foreign = [f for r in section["contenders"].values() for f in r.get("foreign_cpu", [])
               if f is not None]
    if foreign and max(foreign) >= CONTENTION_WARNING:
        lines.append(
            f"  warning: other processes used up to {100 * max(foreign):.0f}% of the CPUs "
            f"during {sum(f >= CONTENTION_WARNING for f in foreign)} of {len(foreign)} timed "
            "runs of this case; its timings are disturbed")
    return lines


def summary_lines(sections):
    checked = [(s, t) for s in sections for t in s.get("targets", [])
               if t["pass"] is not None]
    passed = sum(t["pass"] for _, t in checked)
    lines = [f"targets: {passed}/{len(checked)} PASS"]
    foreign = [f for s in sections for r in s["contenders"].values()
               for f in r.get("foreign_cpu", []) if f is not None]
    disturbed = sum(f >= CONTENTION_WARNING for f in foreign)
    if disturbed:
        lines.append(f"warning: {disturbed} of {len(foreign)} timed runs shared the machine "
                     f"with other processes (≥ {100 * CONTENTION_WARNING:.0f}% of the CPUs); "
                     "rerun on a quiet machine before trusting those ratios")
    missed = []
    for s, t in checked:
        if t["pass"]:
            continue
        value = (f"{t['value']:+.2f} pt" if t["metric"] == "accuracy"
                 else _fmt_ratio(t["value"]))
        subject = "" if t.get("subject", "descent") == "descent" else f"{t['subject']} "
        missed.append(f"{s['case']}/{s['id']} {subject}{t['metric']} vs {t['peer']} "
                      f"({value}, target {t['target']})")
    if missed:
        lines.append("MISS: " + "; ".join(missed))
    return lines


# ----------------------------------------------------------------------------- JSON
def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(path, payload):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(payload), indent=2) + "\n")
    return path
