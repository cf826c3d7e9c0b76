"""Run scikit-learn's own MLP test file against descent's estimators.

The file ``sklearn/neural_network/tests/test_mlp.py`` ships inside the installed
scikit-learn. This copies it into a temporary folder with its one import of the
estimators pointed at ``descent.sklearn`` (nothing else changes), adds the fixture
scikit-learn's own ``conftest.py`` gives it (``global_random_seed``), and runs it with
pytest::

    python -m tests.peers.sklearn_mlp            # every test, excluded ones included
    python -m tests.peers.sklearn_mlp --quick    # the tests expected to pass (CI runs this)

``EXCLUDED`` lists the tests that reach into scikit-learn's private internals; each has a
test of descent's own that shows the same behaviour through public attributes
(``docs/sklearn.md`` lists them).
"""

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
REPLACEMENT = "from descent.sklearn import MLPClassifier, MLPRegressor"

EXCLUDED = {
    "test_gradient": "calls the private _loss_grad_lbfgs",
    "test_learning_rate_warmstart": "reads the private _optimizer.learning_rate",
    "test_adaptive_learning_rate": "reads the private _optimizer.learning_rate",
    "test_n_iter_no_change": "reads the private _no_improvement_count",
    "test_n_iter_no_change_inf": "reads the private _no_improvement_count",
}

CONFTEST = '''
import pytest


@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest gives 42 unless SKLEARN_TESTS_GLOBAL_RANDOM_SEED says."""
    return 42
'''


def peer_file():
    """The path of scikit-learn's test_mlp.py in the installed scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise SystemExit("scikit-learn is not installed: pip install 'descent[test]'")
    return Path(spec.origin).parent / "neural_network" / "tests" / "test_mlp.py"


def prepare(folder):
    """Write the rewritten test file and its conftest into ``folder``; return the file."""
    text = peer_file().read_text(encoding="utf-8")
    if text.count(IMPORT) != 1:
        raise SystemExit(f"{peer_file()} no longer has exactly one line {IMPORT!r}")
    target = Path(folder) / "test_mlp_descent.py"
    target.write_text(text.replace(IMPORT, REPLACEMENT), encoding="utf-8")
    (Path(folder) / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    return target


def run(quick=False, extra=()):
    """Run the peer file; return pytest's exit status."""
    with tempfile.TemporaryDirectory(prefix="sklearn-mlp-") as folder:
        target = prepare(folder)
        deselect = [f"--deselect={target.name}::{name}" for name in EXCLUDED] if quick else []
        command = [sys.executable, "-m", "pytest", str(target), "-q", "-p", "no:cacheprovider",
                   "-W", "ignore::DeprecationWarning", f"--rootdir={folder}", *deselect,
                   *extra]
        return subprocess.run(command, cwd=folder).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.peers.sklearn_mlp",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="leave out the tests that read scikit-learn's private internals")
    args, extra = parser.parse_known_args(argv)
    return run(args.quick, extra)


if __name__ == "__main__":
    sys.exit(main())
