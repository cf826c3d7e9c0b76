"""The benchmark's smoke mode (``python -m bench --quick``) runs here, in-process, so the
harness cannot rot: every case, every contender, positive finite timings, the JSON file
and the printed table."""

import contextlib
import io
import json
import math

import pytest

import descent.compiled
from bench import harness
from bench.__main__ import CASES, main, parse_args

# descent's compiled path joins every case where Numba is installed; JAX and
# torch.compile are left out of the smoke run.
COMPILED = ["descent-compiled"] if descent.compiled.AVAILABLE else []
CONTENDERS = {
    "a": {"sgd": ["descent", "pytorch", "sklearn", "numpy", "floor", *COMPILED],
          "adam": ["descent", "pytorch", "sklearn", "numpy", "floor", *COMPILED]},
    "b": {"sgd": ["descent", "pytorch", "micrograd", "numpy", *COMPILED]},
    "c": {"gd": ["descent", "pytorch", "micrograd", "numpy", *COMPILED]},
    "d": {"adam": ["descent", "pytorch", "sklearn", *COMPILED],
          "estimators": ["descent", "sklearn"], "estimators-alpha": ["descent", "sklearn"]},
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "results.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        payload = main(["--quick", "--quiet", "--json", str(path)])
    return payload, json.loads(path.read_text()), printed.getvalue()


def test_json_has_every_case_and_contender_with_positive_finite_timings(quick_run):
    _, results, _ = quick_run
    assert results["quick"] is True
    assert set(results["cases"]) == set(CASES) == set(CONTENDERS)
    for case, sections in CONTENDERS.items():
        assert set(results["cases"][case]["sections"]) == set(sections)
        for section_id, names in sections.items():
            section = results["cases"][case]["sections"][section_id]
            assert list(section["contenders"]) == names
            for name in names:
                row = section["contenders"][name]
                assert len(row["times"]) == 1
                for key in ("median", "min", "max"):
                    assert math.isfinite(row[key]) and row[key] > 0, (case, name, key)
                assert row["min"] <= row["median"] <= row["max"]
            for target in section["targets"]:
                assert target["pass"] in (True, False, None)


def test_contenders_compute_the_same_thing(quick_run):
    _, results, _ = quick_run
    cases = results["cases"]
    for case, section_id, key in (("a", "sgd", "loss"), ("a", "adam", "loss"),
                                  ("b", "sgd", "final_loss"), ("c", "gd", "final_loss")):
        rows = cases[case]["sections"][section_id]["contenders"]
        same_order = [n for n in ("descent", "pytorch", "numpy", "micrograd",
                                  "descent-compiled") if n in rows]
        values = [rows[n][key] for n in same_order]
        assert max(values) - min(values) < 1e-3 * max(1.0, abs(values[0])), (case, values)


def test_memory_is_measured_for_case_a(quick_run):
    _, results, _ = quick_run
    rows = results["cases"]["a"]["sections"]["sgd"]["contenders"]
    for name, row in rows.items():
        assert math.isfinite(row["memory_mib"]) and row["memory_mib"] >= 0, name


def test_quick_digits_accuracy(quick_run):
    _, results, _ = quick_run
    rows = results["cases"]["d"]["sections"]["adam"]["contenders"]
    assert rows["descent"]["accuracy"] > 0.5
    assert all(0 <= row["accuracy"] <= 1 for row in rows.values())


def test_report_names_blas_threads_and_verdicts(quick_run):
    _, results, printed = quick_run
    env = results["environment"]
    assert env["threads"] == 2 and env["torch_threads"] == 2
    assert any(pool["user_api"] == "blas" for pool in env["pools"])
    assert "BLAS:" in printed and "OPENBLAS_CORETYPE" in printed
    assert "descent/x" in printed and ("PASS" in printed or "MISS" in printed)
    assert "targets:" in printed


def test_the_compiled_paths_targets_are_evaluated(quick_run):
    _, results, printed = quick_run
    targets = [t for t in results["cases"]["a"]["sections"]["sgd"]["targets"]
               if t["subject"] == "descent-compiled"]
    assert [(t["metric"], t["bound"]) for t in targets] == [
        ("time", 1.0), ("time", 1.15), ("memory", 1.0)]
    assert targets[0]["peers"] == ["jax-step", "jax-scan"]
    assert targets[0]["pass"] is None  # JAX is left out of the smoke run
    if COMPILED:
        assert targets[1]["pass"] is not None and "compiled/x" in printed
        assert "descent-compiled / floor" in printed


def test_a_target_against_several_peers_takes_the_best_that_ran():
    section = {"contenders": {"descent-compiled": {"median": 2.0},
                              "jax-step": {"median": 4.0}, "jax-scan": {"median": 3.0}}}
    (target,) = harness.evaluate_targets(section, [harness.Target(
        ("jax-step", "jax-scan", "absent"), 1.0, subject="descent-compiled")])
    assert target["peer"] == "jax-scan" and target["value"] == pytest.approx(2 / 3)
    assert target["pass"] is True
    (none,) = harness.evaluate_targets(section, [harness.Target(("absent",), 1.0)])
    assert none["value"] is None and none["pass"] is None


def test_command_line_rejects_unknown_cases():
    assert parse_args(["--cases", "a,d"]).cases == ["a", "d"]
    with pytest.raises(SystemExit):
        parse_args(["--cases", "z"])
