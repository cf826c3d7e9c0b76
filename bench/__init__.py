"""descent's benchmark suite: descent against its peers, case by case, in one run.

Run it with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench`` (see
:mod:`bench.__main__` for the options); ``--quick`` is the smoke mode the test suite runs.
"""
