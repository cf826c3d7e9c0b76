"""Data-parallel training on a Dask cluster: ``descent.distributed.train``.

The maths stays in descent's core: each worker holds some partitions of the data and a
replica of the model, and runs descent's own forward and backward passes on its rows of
every batch; only gradient sums and parameters travel. The client adds the sums up in a
fixed order and steps descent's own optimiser, so synchronous training gives the numbers
``descent.train`` gives (to rounding). See ``docs/scale.md``.

Dask is optional (``pip install 'descent[dask]'``); it is imported when a run starts.

Modules: ``cluster`` (a scheduler's address, or a local cluster for a run),
``partitions`` (rows as numbered partitions, blocks of them per shard),
``worker`` (the shard: data and model replica on a worker), ``pool`` (the client's
handle on the shards, fixed-order calls, rebuilding lost shards), ``reduce`` (what is
added up, in which order), ``sync`` (the synchronous step), ``local`` (local SGD),
``driver`` (the training loop), ``table`` (``cli_train``: tables on a cluster, for the
command line).
"""

from descent.distributed.cluster import connect, local_client
from descent.distributed.driver import train
from descent.distributed.imports import MissingDependency
from descent.distributed.pool import WorkersLost
from descent.distributed.table import cli_train

__all__ = ["MissingDependency", "WorkersLost", "cli_train", "connect", "local_client", "train"]
