"""scikit-learn's own MLP tests pass against descent's estimators (the quick form of
``python -m tests.peers.sklearn_mlp``: all but the tests of private internals)."""

from tests.peers.sklearn_mlp import EXCLUDED, peer_file, run


def test_scikit_learns_mlp_tests_pass_against_descent():
    assert peer_file().is_file()
    assert run(quick=True) == 0


def test_every_excluded_test_exists_in_the_peer_file():
    text = peer_file().read_text(encoding="utf-8")
    for name in EXCLUDED:
        assert f"def {name}(" in text
