"""The client's reduction: sums added in shard order, averages weighted by rows."""

import numpy as np

from descent.distributed.reduce import (add_gradients, add_sums, average_states,
                                        weighted_mean)


def test_sums_add_up_in_order_and_arrays_stay_arrays():
    total = add_sums([{"loss": 1.5, "count": 3, "columns": np.array([1.0, 2.0])},
                      {"loss": 0.5, "count": 1, "columns": np.array([0.5, 0.5])}])
    assert total["loss"] == 2.0 and total["count"] == 4
    np.testing.assert_array_equal(total["columns"], [1.5, 2.5])


def test_gradients_skip_shards_without_rows_and_parameters_without_gradients():
    a = [np.array([1.0, 2.0]), None]
    b = [np.array([0.5, 0.5]), np.array([3.0])]
    total = add_gradients([None, a, b])
    np.testing.assert_array_equal(total[0], [1.5, 2.5])
    np.testing.assert_array_equal(total[1], [3.0])
    np.testing.assert_array_equal(a[0], [1.0, 2.0])  # the shards' arrays are left alone
    assert add_gradients([None, None]) is None


def test_the_order_is_fixed_not_the_arrival():
    """(a + b) + c and (c + b) + a differ in the last place; the reduction always takes
    shard order, so the same shards give the same bits."""
    grads = [[np.array([0.1])], [np.array([0.2])], [np.array([0.3])]]
    first = add_gradients(grads)[0]
    # (0.3 + 0.2) + 0.1 = 0.6, where (0.1 + 0.2) + 0.3 = 0.6000000000000001
    assert add_gradients(grads[::-1])[0] != first
    assert add_gradients(grads)[0] == first


def test_states_average_like_parameters_and_steps_take_the_largest():
    # shard 0 used 3 rows, shard 1 used 1: means weighted 3/4 and 1/4
    states = [{"state": [{"exp_avg": np.array([4.0]), "step": 5}, {}]},
              {"state": [{"exp_avg": np.array([8.0]), "step": 4}, {}]}]
    averaged = average_states(states, [3, 1])
    assert averaged[0]["exp_avg"][0] == 3 / 4 * 4.0 + 1 / 4 * 8.0  # 5.0
    assert averaged[0]["step"] == 5 and averaged[1] == {}
    assert weighted_mean([np.array([1.0]), np.array([3.0])], [1, 1])[0] == 2.0
