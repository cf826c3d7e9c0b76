"""The losses as compiled kernels: one batch's loss (the mean over its items, as
``reduction="mean"`` takes it) and its gradient with respect to what the loss sees.

What the loss sees is the network's output, or — for the fused pairs the graph engine
forms (``cross_entropy``/``nll_loss`` on a softmax, ``binary_cross_entropy`` and
``..._with_logits`` on a sigmoid) — the logits underneath it: then the gradient is the
error term e = p − t at the logits, and the output activation's own backward is skipped.

========== ============================================ =====================================
code       value (each item; then the mean)              gradient of the mean
========== ============================================ =====================================
MSE        (p − t)²                                      2(p − t) · s, s = 1/items
SSE        ½ Σ_k (p − t)² per example                    2(p − t) · s, s = ½/examples
MAE        |p − t|                                       sign(p − t) · (1/items)
BCE        −[t·max(log p, −100) + (1−t)·max(log1p(−p),   (p − t)/max(p(1 − p), 1e−12) · s
           −100)]
BCE_LOGITS max(z, 0) − z·t + log1p(e^(−|z|))             (σ(z) − t) · s
CE         log Σ_k e^(z_k − max z) − (z_y − max z)       (softmax(z) − onehot(y)) · s
NLL        −z_y                                          −(1/examples) at the label, else 0
POISSON    e^z − z·t                                     (1/items)·e^z + (−1/items)·t
========== ============================================ =====================================

The scale s is applied as the graph engine applies it (a float of the arrays' dtype), and
each batch's value is the sum of its items times s (or over their count, for the
losses the graph engine takes a mean of); the sum itself is taken in float64. Blocks are
flat arrays from an offset (see ``descent.compiled.products``); the batch's rows of the
targets are ``order[base:base + k]`` of ``tvals`` (float, the arrays' dtype) or ``tcodes``
(class indices). One kernel per loss (see ``descent.compiled.activations`` for why);
each returns the batch's value in the arrays' dtype and writes the gradient into ``g``.
"""

import math

import numpy as np

from descent.compiled.activations import sigmoid
from descent.compiled.jit import kernel

MSE, SSE, MAE, BCE, BCE_LOGITS, CE, NLL, POISSON = range(8)
U = np.uint64  # offsets and sizes, unsigned (see descent.compiled.products)

@kernel
def squared_error(src, so, k, units, order, base, tvals, g, go, s):
    """MSE (``s`` = 1/items) and SSE (``s`` = ½/examples): Σ (p − t)² · s."""
    so, k, units, base, go = U(so), U(k), U(units), U(base), U(go)
    two = src.dtype.type(2.0)
    total = 0.0
    for r in range(k):
        row, at = order[base + r], r * units
        for c in range(units):
            diff = src[so + at + c] - tvals[row, c]
            total += diff * diff
            g[go + at + c] = (two * diff) * s
    return src.dtype.type(total) * s


@kernel
def absolute_error(src, so, k, units, order, base, tvals, g, go):
    """MAE: the mean of |p − t|, gradient sign(p − t) · (1/items)."""
    so, k, units, base, go = U(so), U(k), U(units), U(base), U(go)
    dt = src.dtype.type
    zero, one = dt(0.0), dt(1.0)
    items = k * units
    share = one / dt(items)
    total = 0.0
    for r in range(k):
        row, at = order[base + r], r * units
        for c in range(units):
            diff = src[so + at + c] - tvals[row, c]
            total += abs(diff)
            g[go + at + c] = share * (one if diff > zero else (-one if diff < zero
                                                                else diff * zero))
    return dt(total) / dt(items)


@kernel
def probability_bounds(src, so, size, bounds):
    """Whether all ``size`` numbers are probabilities (in [0, 1]); if not, ``bounds``
    gets their least and largest (NaN when one is NaN, as NumPy's min and max)."""
    so, size = U(so), U(size)
    low = high = src[so]
    for i in range(size):
        p = src[so + i]
        if p != p or low != low:
            low = high = p if p != p else low
        else:
            low, high = min(low, p), max(high, p)
    bounds[0], bounds[1] = low, high
    return src.dtype.type(0.0) <= low and high <= src.dtype.type(1.0)


@kernel
def binary_cross_entropy(src, so, k, units, order, base, tvals, g, go):
    """BCE of probabilities: −[t·max(log p, −100) + (1 − t)·max(log1p(−p), −100)],
    gradient (p − t)/max(p(1 − p), 1e−12) · s (check :func:`probability_bounds`
    first)."""
    so, k, units, base, go = U(so), U(k), U(units), U(base), U(go)
    dt = src.dtype.type
    zero, one = dt(0.0), dt(1.0)
    s = dt(1.0 / (k * units))
    floor, tiny, minus_inf = dt(-100.0), dt(1e-12), dt(-math.inf)
    total = 0.0
    for r in range(k):
        row, at = order[base + r], r * units
        for c in range(units):
            p, t = src[so + at + c], tvals[row, c]
            log_p = math.log(p) if p > zero else minus_inf  # log 0 = −inf, then −100
            total += -(t * max(log_p, floor) + (one - t) * max(math.log1p(-p), floor))
            g[go + at + c] = ((p - t) / max(p * (one - p), tiny)) * s
    return dt(total) * s


@kernel
def binary_cross_entropy_with_logits(src, so, k, units, order, base, tvals, g, go):
    """BCE from logits: max(z, 0) − z·t + log1p(e^(−|z|)), gradient (σ(z) − t) · s."""
    so, k, units, base, go = U(so), U(k), U(units), U(base), U(go)
    dt = src.dtype.type
    zero, one = dt(0.0), dt(1.0)
    s = dt(1.0 / (k * units))
    total = 0.0
    for r in range(k):
        row, at = order[base + r], r * units
        for c in range(units):
            z, t = src[so + at + c], tvals[row, c]
            total += (max(z, zero) - z * t) + math.log1p(math.exp(-abs(z)))
            g[go + at + c] = (sigmoid(z, one) - t) * s
    return dt(total) * s


@kernel
def cross_entropy(src, so, k, units, order, base, tcodes, g, go):
    """Softmax cross-entropy from logits: log Σ e^(z − max) − (z_y − max), gradient
    (softmax(z) − onehot(y)) · (1/examples)."""
    so, k, units, base, go = U(so), U(k), U(units), U(base), U(go)
    dt = src.dtype.type
    zero, one = dt(0.0), dt(1.0)
    s = dt(1.0 / k)
    total = 0.0
    for r in range(k):
        at, gt = so + r * units, go + r * units
        top = U(0)
        for c in range(U(1), units):  # argmax: the first largest (NaN counts as largest)
            v, best = src[at + c], src[at + top]
            if v > best or (v != v and best == best):
                top = c
        high = src[at + top]
        sums = zero
        for c in range(units):
            e = math.exp(src[at + c] - high)
            g[gt + c] = e
            sums += e
        label = U(tcodes[order[base + r]])
        total += math.log(sums) - (src[at + label] - high)
        for c in range(units):
            g[gt + c] = (g[gt + c] / sums - (one if c == label else zero)) * s
    return dt(total) * s


@kernel
def negative_log_likelihood(src, so, k, units, order, base, tcodes, g, go):
    """NLL of log-probabilities: the mean of −z_y, gradient −1/examples at the label."""
    so, k, units, base, go = U(so), U(k), U(units), U(base), U(go)
    dt = src.dtype.type
    zero = dt(0.0)
    share = dt(1.0) / dt(k)
    total = 0.0
    for r in range(k):
        label = U(tcodes[order[base + r]])
        for c in range(units):
            g[go + r * units + c] = -share if c == label else zero
        total += -src[so + r * units + label]
    return dt(total) / dt(k)


@kernel
def poisson(src, so, k, units, order, base, tvals, g, go):
    """Poisson NLL of log-rates: the mean of e^z − z·t, gradient
    (1/items)·e^z + (−1/items)·t."""
    so, k, units, base, go = U(so), U(k), U(units), U(base), U(go)
    dt = src.dtype.type
    items = k * units
    share = dt(1.0) / dt(items)
    total = 0.0
    for r in range(k):
        row, at = order[base + r], r * units
        for c in range(units):
            z, t = src[so + at + c], tvals[row, c]
            e = math.exp(z)
            total += e - z * t
            g[go + at + c] = share * e + (-share) * t
    return dt(total) / dt(items)


@kernel
def multiclass_correct(out, oo, k, units, order, base, tcodes):
    """How many rows' largest output is the label (the first largest, as argmax)."""
    oo, k, units, base = U(oo), U(k), U(units), U(base)
    count = 0
    for r in range(k):
        at = oo + r * units
        best = U(0)
        for c in range(U(1), units):
            v, top = out[at + c], out[at + best]
            if v > top or (v != v and top == top):
                best = c
        if best == U(tcodes[order[base + r]]):
            count += 1
    return count


@kernel
def one_hot_correct(out, oo, k, units, order, base, tmetric):
    """The same against one-hot (or probability) target rows: their argmax."""
    oo, k, units, base = U(oo), U(k), U(units), U(base)
    count = 0
    for r in range(k):
        at, row = oo + r * units, order[base + r]
        best = truth = U(0)
        for c in range(U(1), units):
            v, top = out[at + c], out[at + best]
            if v > top or (v != v and top == top):
                best = c
            if tmetric[row, c] > tmetric[row, truth]:
                truth = c
        if best == truth:
            count += 1
    return count


@kernel
def threshold_hits(out, oo, k, units, order, base, tmetric, threshold, whole_rows):
    """Binary outputs past ``threshold`` against targets past ½: how many outputs are
    right, or (``whole_rows``, multi-label) how many rows are right throughout."""
    oo, k, units, base = U(oo), U(k), U(units), U(base)
    count = 0
    for r in range(k):
        row, at = order[base + r], oo + r * units
        hits = 0
        for c in range(units):
            if (out[at + c] > threshold) == (tmetric[row, c] > 0.5):
                hits += 1
        count += int(hits == units) if whole_rows else hits
    return count


@kernel
def error_sums(out, oo, k, units, order, base, tmetric):
    """Σ e² and Σ |e| over the batch, e = output − target in float64 (for the epoch's
    ``mse``, ``mae`` and ``r2``)."""
    oo, k, units, base = U(oo), U(k), U(units), U(base)
    squared = absolute = 0.0
    for r in range(k):
        row, at = order[base + r], oo + r * units
        for c in range(units):
            e = np.float64(out[at + c]) - tmetric[row, c]
            squared += e * e
            absolute += abs(e)
    return squared, absolute


# ---------------------------------------------------------------- a Penalized loss's terms
# ``penalties`` has a row per penalised parameter: its offset and size in ``theta`` and
# whether it learns (1) or is frozen (0: it counts in the value, gets no gradient);
# ``rates`` is (l2, l1) already divided by the batch's rows where ``per_example``.
P_OFFSET, P_SIZE, P_LEARNS = range(3)
PENALTY_FIELDS = 3


@kernel
def penalized_value(theta, penalties, l2, l1, value):
    """The data loss ``value`` plus l1 · Σ|w| plus l2/2 · Σw², added up as
    ``descent.losses.Penalized`` adds them: each parameter's sum in the dtype, the L1
    term added in the dtype, the L2 term's sum of dot products in float64."""
    dt = theta.dtype.type
    if l1:
        total = dt(0.0)
        for p in range(penalties.shape[0]):
            at, size = U(penalties[p, P_OFFSET]), U(penalties[p, P_SIZE])
            part = 0.0
            for i in range(size):
                part += abs(theta[at + i])
            total += dt(part)
        value = dt(value + dt(l1) * total)
    if l2:
        squares = 0.0
        for p in range(penalties.shape[0]):
            at, size = U(penalties[p, P_OFFSET]), U(penalties[p, P_SIZE])
            part = 0.0
            for i in range(size):
                part += np.float64(theta[at + i]) * np.float64(theta[at + i])
            squares += np.float64(dt(part))
        value = dt(squares * (0.5 * l2) + np.float64(value))
    return value


@kernel
def penalized_gradient(theta, grads, penalties, l2, l1):
    """Add the penalties' gradients, l2 · w and l1 · sign(w), to the learning
    parameters' gradients."""
    dt = theta.dtype.type
    factor, rate = dt(l2), dt(l1)
    for p in range(penalties.shape[0]):
        if not penalties[p, P_LEARNS]:
            continue
        at, size = U(penalties[p, P_OFFSET]), U(penalties[p, P_SIZE])
        for i in range(size):
            w = theta[at + i]
            if l1:
                grads[at + i] += dt(np.sign(w)) * rate
            if l2:
                grads[at + i] += w * factor
