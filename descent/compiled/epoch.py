"""The whole-epoch kernel: every batch of one or more epochs in one compiled call —
gather, forward, loss, metrics, backward, update — with no Python in between.

A network is a stack of dense layers described by the rows of ``layers`` (one per layer,
the fields ``L_*`` below) and ``layer_floats`` (``F_*``): where its weights, biases and
buffers lie in the flat arrays ``theta`` (parameters), ``grads`` (their gradients, laid
out alike), ``work`` (each layer's net inputs ``Z``, activations ``O`` and, after a
dropout, the kept activations ``D``, k rows of ``units`` each) and ``delta`` (each
layer's gradient block ``G``), its activation, and its dropout. An identity layer's ``O`` is its ``Z``. Every block is
addressed by its offset in its flat array (no views: see ``descent.compiled.products``),
and every choice by a code (activation, loss, optimiser) is made here, in the batch
loop, so that each kernel it calls is a plain loop (see ``descent.compiled.activations``).
The trainable parameters are the rows of ``segments`` (``S_*``), each with its
optimiser state in ``state[slot · len(theta) + offset:...]`` and its step count.

Dropout draws nothing here: ``uniforms`` holds the numbers each dropout layer's
generator gave for these batches, in the order the graph engine draws them (batch by
batch, layer by layer, row-major), and ``cursors`` says where each generator's next
numbers are. An element is kept where its number is >= p, and then scaled by 1/(1 − p),
the graph engine's inverted dropout.

Batches are numbered across the epochs of one call: batch ``b`` is batch ``b % nb`` of
epoch ``b // nb`` (``nb`` batches of ``batch_size`` rows per epoch, the last one
smaller), taken from ``order[epoch · n:(epoch + 1) · n]``. What each epoch adds up goes
into its row of ``results`` (the fields ``R_*``) and of ``norms`` (each segment's
gradient norms, summed over its batches; ``norms`` with no columns skips them).
"""

import math

import numpy as np

from descent.compiled import activations as act
from descent.compiled import losses, optimizers
from descent.compiled.jit import kernel
from descent.compiled import products as mm

# fields of a row of ``layers``
(L_IN, L_OUT, L_W, L_B, L_ACT, L_Z, L_O, L_D, L_GEN, L_WSEG, L_BSEG, L_BACK,
 L_G) = range(13)
LAYER_FIELDS = 13
# fields of a row of ``layer_floats``: the activation's setting (slope, alpha), dropout p
# and the kept elements' scale 1/(1 − p) (rounded to the dtype, as the graph engine's)
F_PARAM, F_P, F_SCALE = range(3)
LAYER_FLOAT_FIELDS = 3
# fields of a row of ``segments``
S_OFFSET, S_SIZE, S_STEP, S_FRESH0, S_FRESH1, S_FRESH2 = range(6)
SEGMENT_FIELDS = 6
# fields of a row of ``results``
(R_LOSS, R_COUNT, R_CORRECT, R_SQUARED, R_ABSOLUTE, R_BATCHES, R_FIRST_OVER, R_FAILED,
 R_VALUE, R_STATUS, R_LOW, R_HIGH) = range(12)
RESULT_FIELDS = 12
# R_STATUS: the epoch ran through, or stopped at batch R_FAILED with a loss that is not
# a finite number (R_VALUE), or with probabilities outside [0, 1] (R_LOW, R_HIGH)
DONE, NOT_FINITE, BAD_PROBABILITIES = 0, 1, 2
# how the epoch's accuracy or errors are counted (``losses.*_correct``, ``error_sums``)
REGRESSION, MULTICLASS, BINARY, MULTILABEL = range(4)
U = np.uint64  # offsets and sizes in the kernels, unsigned (see descent.compiled.products)


@kernel
def _dropout(source, so, target, to, size, uniforms, position, p, scale):
    """target ← source · mask over ``size`` numbers: the mask is 1/(1 − p) where the
    generator's number is >= p, else 0 (``target`` may be ``source``, in place)."""
    so, to, size, position = U(so), U(to), U(size), U(position)
    zero = target.dtype.type(0.0)
    for i in range(size):
        target[to + i] = source[so + i] * (scale if uniforms[position + i] >= p else zero)


@kernel
def _input_at(layers, layer):
    """Where a layer's inputs lie in ``work`` (the layer below's kept or plain outputs;
    not for the first layer, whose inputs are the batch)."""
    under = layer - 1
    return layers[under, L_D] if layers[under, L_GEN] >= 0 else layers[under, L_O]


@kernel
def _plain_sgd_steps(layers, source, at, work, delta, theta, grads, state, k, h, h64):
    """Plain SGD's steps for the batch whose error terms the backward pass left in
    ``delta``: w ← w − η·(aᵀ g) folded into one BLAS product per weight matrix (where
    the gradient would otherwise be written out and read back), biases from their
    gradients as ``optimizers.sgd`` steps them."""
    for layer in range(layers.shape[0]):
        fan_in, units = layers[layer, L_IN], layers[layer, L_OUT]
        g_at, w_at, b_at = layers[layer, L_G], layers[layer, L_W], layers[layer, L_B]
        if layers[layer, L_WSEG] >= 0 and layer == 0:
            mm.weight_step_blas(source, at, delta, g_at, theta, w_at, k, fan_in, units, h[0])
        elif layers[layer, L_WSEG] >= 0:
            mm.weight_step_blas(work, _input_at(layers, layer), delta, g_at, theta, w_at, k,
                                fan_in, units, h[0])
        if layers[layer, L_BSEG] >= 0:
            mm.column_sums(delta, g_at, k, units, grads, b_at)
            optimizers.sgd(theta, grads, state, b_at, units, b_at, True, h, h64)


@kernel
def _gather(X, order, base, rows, features, xbuf):
    """The batch's rows of X (flat, n × features) into ``xbuf``."""
    base, rows, features = U(base), U(rows), U(features)
    for r in range(rows):
        row = U(order[base + r]) * features
        for c in range(features):
            xbuf[r * features + c] = X[row + c]


@kernel
def run_batches(X, order, n, batch_size, first, last, gather,
                tcodes, tvals, tmetric, loss_code, on_logits, task, threshold,
                theta, grads, state, work, delta, layers, layer_floats,
                xbuf, input_gen, input_p, input_scale, uniforms, cursors,
                opt_code, h, h64, segments, runs, fuse, limit, results, norms,
                penalties, rates):
    """Train on batches ``first`` to ``last − 1`` (numbered across epochs, see above).

    ``X`` is the inputs as one flat row-major array (n × features). ``gather`` copies
    each batch's rows into ``xbuf`` (``False`` only when every epoch's order is 0..n−1
    and nothing drops inputs: then the rows are read in place). ``on_logits``: the loss
    sees the last layer's net inputs and gives the gradient there (the fused pairs),
    instead of its output. ``delta`` holds a gradient block of ``batch_size`` rows
    for each layer (its ``L_G``). ``state`` holds the optimiser's state slots one after the other,
    each as long as ``theta``. ``norms`` with columns gets each segment's gradient norm
    added per batch. Stops early at a batch whose loss is not a finite number (before
    its update, as the graph engine does), or whose BCE input is not a probability;
    ``results`` says which. ``penalties`` (rows ``losses.P_*``) are the parameters a
    ``Penalized`` loss penalises, at the rates ``(l2, l1, per_example)``: their terms
    join each batch's value and gradients. Returns the batch it stopped before.
    """
    dt = theta.dtype.type
    depth = layers.shape[0]
    features = layers[0, L_IN]
    width = theta.shape[0]
    batches_per_epoch = (n + batch_size - 1) // batch_size
    mask_at = np.zeros(depth + 1, np.int64)
    bounds = np.zeros(2, theta.dtype)
    source = xbuf if gather else X  # the first layer's inputs
    top = depth - 1
    units_top = layers[top, L_OUT]
    z_top, out_top, g_top = layers[top, L_Z], layers[top, L_O], layers[top, L_G]
    seen = z_top if on_logits else out_top  # what the loss sees
    for b in range(first, last):
        epoch = b // batches_per_epoch
        j = b - epoch * batches_per_epoch
        begin = j * batch_size
        k = min(batch_size, n - begin)
        base = epoch * n + begin  # the batch's rows are order[base:base + k]
        # ---- the batch's inputs: source[at:], k × features
        at = 0 if gather else begin * features
        if gather:
            _gather(X, order, base, k, features, xbuf)
            if input_gen >= 0:
                mask_at[depth] = cursors[input_gen]
                cursors[input_gen] += k * features
                _dropout(xbuf, 0, xbuf, 0, k * features, uniforms, mask_at[depth], input_p,
                         dt(input_scale))
        # ---- forward
        for layer in range(depth):
            fan_in, units = layers[layer, L_IN], layers[layer, L_OUT]
            z_at, out_at = layers[layer, L_Z], layers[layer, L_O]
            w_at, blas = layers[layer, L_W], mm.blas_pays(k, fan_in, units)
            if layer == 0 and blas:
                mm.forward_product_blas(source, at, theta, w_at, work, z_at, k, fan_in, units)
            elif layer == 0:
                mm.forward_product(source, at, theta, w_at, work, z_at, k, fan_in, units)
            else:
                below = layers[layer - 1, L_D] if layers[layer - 1, L_GEN] >= 0 \
                    else layers[layer - 1, L_O]
                if blas:
                    mm.forward_product_blas(work, below, theta, w_at, work, z_at, k, fan_in,
                                            units)
                else:
                    mm.forward_product(work, below, theta, w_at, work, z_at, k, fan_in, units)
            if layers[layer, L_B] >= 0:
                act.add_bias(work, z_at, theta, layers[layer, L_B], k, units)
            code, size, param = layers[layer, L_ACT], k * units, layer_floats[layer, F_PARAM]
            if code == act.STEP:
                act.step_forward(work, z_at, work, out_at, size)
            elif code == act.SIGMOID:
                act.sigmoid_forward(work, z_at, work, out_at, size)
            elif code == act.TANH:
                act.tanh_forward(work, z_at, work, out_at, size)
            elif code == act.RELU:
                act.relu_forward(work, z_at, work, out_at, size)
            elif code == act.LEAKY_RELU:
                act.leaky_relu_forward(work, z_at, work, out_at, size, param)
            elif code == act.ELU:
                act.elu_forward(work, z_at, work, out_at, size, param)
            elif code == act.SOFTMAX:
                act.softmax_forward(work, z_at, work, out_at, k, units)
            gen = layers[layer, L_GEN]
            if gen >= 0:
                mask_at[layer] = cursors[gen]
                cursors[gen] += size
                _dropout(work, out_at, work, layers[layer, L_D], size, uniforms,
                         mask_at[layer], layer_floats[layer, F_P],
                         dt(layer_floats[layer, F_SCALE]))
        # ---- the loss and its gradient (into the top layer's block of delta)
        proper = True
        if loss_code == losses.MSE:
            value = losses.squared_error(work, seen, k, units_top, order, base, tvals,
                                         delta, g_top, dt(1.0 / (k * units_top)))
        elif loss_code == losses.SSE:
            value = losses.squared_error(work, seen, k, units_top, order, base, tvals,
                                         delta, g_top, dt(0.5 / k))
        elif loss_code == losses.MAE:
            value = losses.absolute_error(work, seen, k, units_top, order, base, tvals,
                                          delta, g_top)
        elif loss_code == losses.BCE:
            proper = losses.probability_bounds(work, seen, k * units_top, bounds)
            value = losses.binary_cross_entropy(work, seen, k, units_top, order, base,
                                                tvals, delta, g_top) if proper else dt(0.0)
        elif loss_code == losses.BCE_LOGITS:
            value = losses.binary_cross_entropy_with_logits(work, seen, k, units_top, order,
                                                            base, tvals, delta, g_top)
        elif loss_code == losses.CE:
            value = losses.cross_entropy(work, seen, k, units_top, order, base, tcodes,
                                         delta, g_top)
        elif loss_code == losses.NLL:
            value = losses.negative_log_likelihood(work, seen, k, units_top, order, base,
                                                   tcodes, delta, g_top)
        else:
            value = losses.poisson(work, seen, k, units_top, order, base, tvals, delta, g_top)
        # the penalties' rates, per example as scikit-learn's alpha when ``rates[2]``
        l2, l1 = (rates[0] / k, rates[1] / k) if rates[2] else (rates[0], rates[1])
        if penalties.shape[0]:
            value = losses.penalized_value(theta, penalties, l2, l1, value)
        if not proper or not math.isfinite(value):
            results[epoch, R_FAILED] = j
            results[epoch, R_VALUE] = value
            results[epoch, R_STATUS] = NOT_FINITE if proper else BAD_PROBABILITIES
            results[epoch, R_LOW], results[epoch, R_HIGH] = bounds[0], bounds[1]
            return b
        if value > limit and results[epoch, R_FIRST_OVER] < 0:
            results[epoch, R_FIRST_OVER] = j
        results[epoch, R_LOSS] += np.float64(value) * k
        results[epoch, R_COUNT] += k
        results[epoch, R_BATCHES] += 1
        if task == REGRESSION:
            squared, absolute = losses.error_sums(work, out_top, k, units_top, order, base,
                                                  tmetric)
            results[epoch, R_SQUARED] += squared
            results[epoch, R_ABSOLUTE] += absolute
        elif task == MULTICLASS and tcodes.shape[0]:
            results[epoch, R_CORRECT] += losses.multiclass_correct(
                work, out_top, k, units_top, order, base, tcodes)
        elif task == MULTICLASS:
            results[epoch, R_CORRECT] += losses.one_hot_correct(
                work, out_top, k, units_top, order, base, tmetric)
        else:
            results[epoch, R_CORRECT] += losses.threshold_hits(
                work, out_top, k, units_top, order, base, tmetric, threshold,
                task == MULTILABEL)
        # plain SGD steps layer by layer after the backward pass (``fuse``), but on a
        # call's last batch, whose gradients stay behind as the model's ``.grad``
        fused = fuse and b < last - 1
        # ---- backward: each layer's block of delta holds the gradient at its output,
        # then at its net inputs; the layer below gets its own through these weights
        for layer in range(top, -1, -1):
            fan_in, units = layers[layer, L_IN], layers[layer, L_OUT]
            size, g_at = k * units, layers[layer, L_G]
            if layer < top and layers[layer, L_GEN] >= 0:
                _dropout(delta, g_at, delta, g_at, size, uniforms, mask_at[layer],
                         layer_floats[layer, F_P], dt(layer_floats[layer, F_SCALE]))
            if layer < top or not on_logits:
                code, param = layers[layer, L_ACT], layer_floats[layer, F_PARAM]
                z_at, out_at = layers[layer, L_Z], layers[layer, L_O]
                if code == act.STEP:
                    act.step_backward(delta, g_at, size)
                elif code == act.SIGMOID:
                    act.sigmoid_backward(delta, g_at, work, out_at, size)
                elif code == act.TANH:
                    act.tanh_backward(delta, g_at, work, out_at, size)
                elif code == act.RELU:
                    act.relu_backward(delta, g_at, work, out_at, size)
                elif code == act.LEAKY_RELU:
                    act.leaky_relu_backward(delta, g_at, work, z_at, size, param)
                elif code == act.ELU:
                    act.elu_backward(delta, g_at, work, z_at, size, param)
                elif code == act.SOFTMAX:
                    act.softmax_backward(delta, g_at, work, out_at, k, units)
            if not fused:
                w_at = layers[layer, L_W]
                if layers[layer, L_WSEG] >= 0:
                    blas = mm.blas_pays(k, fan_in, units)
                    if layer == 0 and blas:
                        mm.weight_gradient_blas(source, at, delta, g_at, grads, w_at, k,
                                                fan_in, units)
                    elif layer == 0:
                        mm.weight_gradient(source, at, delta, g_at, grads, w_at, k, fan_in,
                                           units)
                    elif blas:
                        mm.weight_gradient_blas(work, _input_at(layers, layer), delta, g_at,
                                                grads, w_at, k, fan_in, units)
                    else:
                        mm.weight_gradient(work, _input_at(layers, layer), delta, g_at,
                                           grads, w_at, k, fan_in, units)
                if layers[layer, L_BSEG] >= 0:
                    mm.column_sums(delta, g_at, k, units, grads, layers[layer, L_B])
            if layer == 0 or layers[layer, L_BACK] == 0:  # nothing below learns
                break
            below_at = layers[layer - 1, L_G]
            if mm.blas_pays(k, fan_in, units):
                mm.input_gradient_blas(delta, g_at, theta, layers[layer, L_W], delta,
                                       below_at, k, fan_in, units)
            else:
                mm.input_gradient(delta, g_at, theta, layers[layer, L_W], delta, below_at, k,
                                  fan_in, units)
        if fused:  # every weight step folded into its product, the biases beside
            _plain_sgd_steps(layers, source, at, work, delta, theta, grads, state, k, h, h64)
            continue
        # ---- update
        if penalties.shape[0]:
            losses.penalized_gradient(theta, grads, penalties, l2, l1)
        if norms.shape[1]:
            for s in range(segments.shape[0]):
                norms[epoch, s] += math.sqrt(optimizers.sum_of_squares(
                    grads, segments[s, S_OFFSET], segments[s, S_SIZE]))
        for s in range(runs.shape[0]):
            p_at, size = runs[s, S_OFFSET], runs[s, S_SIZE]
            fresh = runs[s, S_FRESH0] != 0
            if opt_code == optimizers.SGD:
                optimizers.sgd(theta, grads, state, p_at, size, p_at, fresh, h, h64)
            elif opt_code == optimizers.ADAGRAD:
                runs[s, S_STEP] += 1
                optimizers.adagrad(theta, grads, state, p_at, size, p_at, fresh,
                                   runs[s, S_STEP], h, h64)
            elif opt_code == optimizers.RMSPROP:
                optimizers.rmsprop(theta, grads, state, p_at, size, p_at, width + p_at,
                                   2 * width + p_at, fresh, runs[s, S_FRESH1] != 0,
                                   runs[s, S_FRESH2] != 0, h, h64)
            else:
                runs[s, S_STEP] += 1
                optimizers.adam(theta, grads, state, p_at, size, p_at, width + p_at, fresh,
                                runs[s, S_STEP], h, h64)
            runs[s, S_FRESH0] = runs[s, S_FRESH1] = runs[s, S_FRESH2] = 0
    return last
