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
