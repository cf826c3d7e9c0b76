"""The command line: the demo learns XOR; the console script is installed."""

import subprocess
import sys
from pathlib import Path

from descent import cli


def test_demo_learns_xor(capsys):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "4/4 correct" in out
    losses = [float(line.split("E = ")[1]) for line in out.splitlines() if "E = " in line]
    assert losses[-1] < losses[0] / 10


def test_version_and_help():
    result = subprocess.run([sys.executable, "-m", "descent.cli", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("descent ")
    assert (Path(sys.executable).parent / "descent").exists()  # the console script


def _run(*args):
    return subprocess.run([sys.executable, "-m", "descent.cli", *args], capture_output=True,
                          text=True)


def test_explain_list_and_example():
    listing = _run("explain", "--list")
    assert listing.returncode == 0 and "student-grade" in listing.stdout
    assert len(listing.stdout.splitlines()) == 11
    result = _run("explain", "--example", "student-grade", "--format", "markdown")
    assert result.returncode == 0 and "| w46 | -0.3000 | -0.0435 | -0.2608 |" in result.stdout


def test_explain_spec_round_trip(tmp_path):
    import json

    from descent.teach.examples import STUDENT_GRADE

    spec = tmp_path / "grade.json"
    spec.write_text(json.dumps(STUDENT_GRADE))
    from_spec = _run("explain", "--spec", str(spec), "--format", "json", "--steps", "2")
    from_example = _run("explain", "--example", "student-grade", "--format", "json",
                        "--steps", "2")
    assert json.loads(from_spec.stdout)["steps"] == json.loads(from_example.stdout)["steps"]


def test_explain_errors_are_one_line_without_traceback(tmp_path):
    spec = tmp_path / "bad.json"
    spec.write_text('{"layers": [3, 2, 1], "weights": [], "learning_rate": 1, '
                    '"input": [1, 0, 1], "target": [1]}')
    result = _run("explain", "--spec", str(spec))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("descent: error: spec field 'weights': must have one "
                                     "entry per layer (2)")
    unknown = _run("explain", "--example", "nope")
    assert unknown.returncode == 2 and "student-grade" in unknown.stderr
