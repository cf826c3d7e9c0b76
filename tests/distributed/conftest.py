"""The cluster the distributed tests share: a LocalCluster of two worker processes (one
thread each) on 127.0.0.1, no dashboard, its scratch space in a temporary folder. Tests
that need no cluster (the reduction, the partition plan) do not start it."""

import pytest


@pytest.fixture(scope="package")
def cluster_client(tmp_path_factory):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    from descent.distributed.cluster import local_client

    scratch = tmp_path_factory.mktemp("dask")
    with dask.config.set({"temporary-directory": str(scratch)}), \
            local_client(2, scratch=scratch) as connected:
        yield connected


@pytest.fixture
def client(cluster_client):
    """The shared client, once both workers are up (a killed one comes back under a new
    address)."""
    cluster_client.wait_for_workers(2, timeout=30)
    return cluster_client
