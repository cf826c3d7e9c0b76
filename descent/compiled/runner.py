"""The Python side of the compiled path: which networks it takes, and ``EpochRunner``,
which lays a network out for the whole-epoch kernel and trains it an epoch at a time.

The runner owns flat copies of the parameters, their gradients and the optimiser state,
allocated once. Each :meth:`EpochRunner.run_epoch` copies the model's parameters in,
runs the kernel on the epoch's row order, and leaves everything where the graph engine
leaves it: the new weights in the model's own parameter arrays (written in place), the
last batch's gradients in ``p.grad``, and the optimiser's per-parameter state dicts
current (``momentum_buffer``, ``sum``, ``square_avg``, ``grad_avg``, ``exp_avg``,
``exp_avg_sq``, ``step``; the arrays are views of the runner's flat state), so that
checkpoints, resuming and a later graph-engine epoch work unchanged.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from descent import losses as loss_functions
from descent.autograd.backend import as_rng, get_default_dtype
from descent.compiled import activations, epoch, jit, losses, optimizers, products
from descent.errors import DescentValueError, ShapeError
from descent.nn.activations import ACTIVATION_MODULES, Activation
from descent.nn.layers import Dropout, Linear, Sequential
from descent.optim import optimizers as optim

# The losses the kernel has (by the function train() resolves a name to).
_LOSSES = {loss_functions.mse: "mse", loss_functions.sse: "sse", loss_functions.mae: "mae",
           loss_functions.binary_cross_entropy: "binary_cross_entropy",
           loss_functions.binary_cross_entropy_with_logits:
               "binary_cross_entropy_with_logits",
           loss_functions.cross_entropy: "cross_entropy", loss_functions.nll_loss: "nll",
           loss_functions.poisson_nll: "poisson"}
_OPTIMIZERS = {optim.SGD: optimizers.SGD, optim.AdaGrad: optimizers.ADAGRAD,
               optim.RMSProp: optimizers.RMSPROP, optim.Adam: optimizers.ADAM,
               optim.AdamW: optimizers.ADAM}
# The optimiser state kept in the runner's state rows (slot by slot), by optimiser.
_STATE_KEYS = {optimizers.SGD: ("momentum_buffer",), optimizers.ADAGRAD: ("sum",),
               optimizers.RMSPROP: ("square_avg", "grad_avg", "momentum_buffer"),
               optimizers.ADAM: ("exp_avg", "exp_avg_sq")}
_COUNTS_STEPS = (optimizers.ADAGRAD, optimizers.ADAM)
# activations whose backward needs their outputs alone (not the net inputs)
_IN_PLACE = ("identity", "step", "sigmoid", "tanh", "relu", "softmax")
_TASKS = {"regression": epoch.REGRESSION, "multiclass": epoch.MULTICLASS,
          "binary": epoch.BINARY, "multilabel": epoch.MULTILABEL}
# Dropout numbers drawn per kernel call at most (float64): 16 MiB.
_UNIFORMS_PER_CALL = 1 << 21
_CHANGE_BLOCK = 65_536  # elements of the epoch's change taken in float64 at a time
SUPPORTED = ("a Sequential (or MLP) of Linear layers, each followed by at most one of the "
             "activations identity, step, sigmoid, tanh, relu, leaky_relu, elu (softmax "
             "at the output) and at most one Dropout; the losses mse, sse, mae, "
             "binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll, "
             "poisson; the optimisers SGD, AdaGrad, RMSProp, Adam, AdamW")


class _Unsupported(Exception):
    """Why the compiled path cannot run a model or a setting (its one argument)."""


@dataclass
class _Layer:
    linear: Linear
    activation: str = "identity"
    param: float = 0.0
    dropout: Dropout = None


def _layers(model):
    """The network as (input dropout, [_Layer, ...]), or ``_Unsupported``."""
    if not isinstance(model, Sequential) or type(model).forward is not Sequential.forward:
        raise _Unsupported(f"the model is a {type(model).__name__}, not a Sequential or MLP")
    modules = list(model)
    if not modules:
        raise _Unsupported("the model has no layers")
    kinds = set(ACTIVATION_MODULES.values())
    input_dropout, layers = None, []
    for index, module in enumerate(modules):
        kind = type(module)
        where = f"layer {index} ({kind.__name__})"
        if kind is Linear:
            layers.append(_Layer(module))
        elif kind is Dropout:
            if not layers:
                if input_dropout is not None:
                    raise _Unsupported(f"{where} follows another Dropout")
                input_dropout = module
            elif layers[-1].dropout is not None:
                raise _Unsupported(f"{where} follows another Dropout")
            elif index == len(modules) - 1:
                raise _Unsupported(f"{where}: dropout on the network's output")
            else:
                layers[-1].dropout = module
        elif kind in kinds:
            if not layers or layers[-1].activation != "identity" or \
                    layers[-1].dropout is not None:
                raise _Unsupported(f"{where} does not directly follow a Linear layer")
            layers[-1].activation, layers[-1].param = _activation(module, where,
                                                                  index == len(modules) - 1)
        else:
            raise _Unsupported(f"{where} is not a Linear, Dropout or activation layer")
    if not layers:
        raise _Unsupported("the model has no Linear layer")
    if len({id(layer.linear) for layer in layers}) != len(layers):
        raise _Unsupported("a Linear layer used more than once (its weights are shared)")
    return input_dropout, layers


def _activation(module, where, last):
    """An activation module's (name, setting), or ``_Unsupported``."""
    name = module.name
    if name == "softmax":
        if not last or module.axis not in (-1, 1):
            raise _Unsupported(f"{where}: softmax is compiled only over the classes of the "
                               "network's output")
        return name, 0.0
    if name == "leaky_relu":
        if not module.negative_slope >= 0:
            raise _Unsupported(f"{where}: a negative slope (the graph engine refuses it)")
        return name, float(module.negative_slope)
    if name == "elu":
        if not module.alpha > 0:
            raise _Unsupported(f"{where}: alpha <= 0 (the graph engine refuses it)")
        return name, float(module.alpha)
    if type(module).forward is not Activation.forward:
        raise _Unsupported(f"{where} has a forward of its own")
    return name, 0.0


def _data_loss(loss):
    """The loss function that compares outputs with targets (a ``Penalized`` loss's
    own) and the ``Penalized`` loss, or None."""
    loss = loss_functions.get_loss(loss)
    return (loss.loss, loss) if isinstance(loss, loss_functions.Penalized) else (loss, None)


def _penalty_plan(penalty, parameters):
    """The rows (``losses.P_*``) of the parameters a ``Penalized`` loss penalises, and
    its rates ``(l2, l1, per_example)``; no rows without one."""
    if penalty is None:
        return np.zeros((0, losses.PENALTY_FIELDS), np.int64), np.zeros(3)
    ours = {id(p) for p in parameters}
    if not all(id(w) in ours for w in penalty.parameters):
        raise _Unsupported("a penalty on tensors other than the network's own parameters")
    rows = [(id(w), bool(w.requires_grad)) for w in penalty.parameters]
    if len({key for key, _ in rows}) != len(rows):
        raise _Unsupported("a penalty that counts a parameter twice")
    return rows, np.array([penalty.l2, penalty.l1, float(penalty.per_example)])


def _loss_plan(loss, last):
    """(loss code, whether it works from the logits) for the loss function ``loss`` on
    a network whose output activation is ``last``."""
    loss, _ = _data_loss(loss)
    name = _LOSSES.get(loss)
    if name is None:
        raise _Unsupported(f"the loss {getattr(loss, '__name__', loss)!r} is not one of the "
                           "built-in losses")
    if name in ("cross_entropy", "nll"):
        if last == "sigmoid":
            raise _Unsupported(f"{name} on a sigmoid output (the graph engine refuses it)")
        if last == "softmax":
            return losses.CE, True
        return (losses.CE if name == "cross_entropy" else losses.NLL), False
    if name.startswith("binary_cross_entropy"):
        if last == "softmax":
            raise _Unsupported(f"{name} on a softmax output (the graph engine refuses it)")
        if last == "sigmoid":
            return losses.BCE_LOGITS, True
        return (losses.BCE if name == "binary_cross_entropy" else losses.BCE_LOGITS), False
    return {"mse": losses.MSE, "sse": losses.SSE, "mae": losses.MAE,
            "poisson": losses.POISSON}[name], False


def _default_task(code, on_logits):
    """The task ``train()`` infers from the loss: (task, outputs are logits)."""
    if code in (losses.CE, losses.NLL):
        return "multiclass", False
    if code == losses.BCE:
        return "binary", False
    if code == losses.BCE_LOGITS:
        return "binary", not on_logits  # on a sigmoid output: probabilities
    return "regression", False


def _check_targets(y, code, width):
    """The targets, as ``(class codes or None, float targets or None)``."""
    y = np.asarray(y)
    rows = len(y)
    if code in (losses.CE, losses.NLL):
        if y.ndim == 1 and y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)  # whole numbers as labels, as train() reads them
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise _Unsupported("class targets other than one integer label per example "
                               "(probability targets run on the graph engine)")
        if y.size and (y.min() < 0 or y.max() >= width):
            raise _Unsupported(f"labels outside 0..{width - 1} (the graph engine says so)")
        return y.astype(np.int64, copy=False), None
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.shape != (rows, width) or y.dtype.kind not in "biuf":
        raise _Unsupported(f"targets of shape {y.shape} for {width} outputs")
    if code == losses.POISSON and y.size and y.min() < 0:
        raise _Unsupported("negative targets for poisson (the graph engine refuses them)")
    return None, y


def _check_optimizer(optimizer, parameters):
    """The optimiser's kernel code, or ``_Unsupported``."""
    code = _OPTIMIZERS.get(type(optimizer))
    if code is None or type(optimizer).update is not _BASE_UPDATES[type(optimizer)]:
        raise _Unsupported(f"the optimiser {type(optimizer).__name__} is not one of SGD, "
                           "AdaGrad, RMSProp, Adam, AdamW")
    held = [id(p) for p in optimizer.params]
    if len(set(held)) != len(held) or set(held) != {id(p) for p in parameters}:
        raise _Unsupported("the optimiser does not hold exactly the model's parameters")
    return code


_BASE_UPDATES = {cls: cls.update for cls in _OPTIMIZERS}


def _plan(model, loss, optimizer, y, sample_weight=None, callbacks=()):
    """Everything the runner needs to know, checked; ``_Unsupported`` says why not."""
    if not jit.AVAILABLE:
        raise _Unsupported(jit.MISSING)
    if sample_weight is not None:
        raise _Unsupported("sample weights")
    watching = [type(c).__name__ for c in callbacks if _watches_batches(c)]
    if watching:
        raise _Unsupported(f"the callback {watching[0]} watches every batch (on_batch_end)")
    input_dropout, layers = _layers(model)
    parameters = [p for layer in layers for p in (layer.linear.weight, layer.linear.bias)
                  if p is not None]
    dtypes = {p.data.dtype for p in parameters}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (np.float32, np.float64):
        raise _Unsupported("parameters of more than one float type")
    if input_dropout is not None and input_dropout.p and \
            next(iter(dtypes)) != get_default_dtype():
        # the graph engine casts X to the first module's parameters' dtype, and a
        # Dropout has none: it rounds the inputs to the default dtype and drops them
        # there, a rounding the kernel (in the parameters' dtype) does not make
        raise _Unsupported(f"dropout on the inputs of a {next(iter(dtypes))} network (the "
                           f"graph engine drops them in the default dtype, "
                           f"{get_default_dtype()})")
    for before, after in zip(layers, layers[1:]):
        if after.linear.in_features != before.linear.out_features:
            raise _Unsupported("layers whose sizes do not fit together")
    code = _check_optimizer(optimizer, parameters)
    loss_code, on_logits = _loss_plan(loss, layers[-1].activation)
    penalized, rates = _penalty_plan(_data_loss(loss)[1], parameters)
    codes, values = _check_targets(y, loss_code, layers[-1].linear.out_features) \
        if y is not None else (None, None)
    return {"input_dropout": input_dropout, "layers": layers, "parameters": parameters,
            "dtype": next(iter(dtypes)), "optimizer": code, "loss": loss_code,
            "on_logits": on_logits, "codes": codes, "values": values,
            "penalized": penalized, "rates": rates}


def _watches_batches(callback):
    """Whether a callback overrides ``on_batch_end`` (the base ``Callback`` defines it
    as doing nothing): such a callback would see the model only after the epoch."""
    return "on_batch_end" in getattr(callback, "__dict__", {}) or \
        sum("on_batch_end" in vars(k) for k in type(callback).__mro__) > 1


def supports(model, loss, optimizer, y=None, *, sample_weight=None, callbacks=()):
    """Whether the compiled path can train ``model`` with ``loss`` and ``optimizer``
    (on targets ``y``, as ``train()`` prepares them, when given), and why.

    Returns ``(True, what runs)`` or ``(False, the first reason it cannot)``: Numba or
    SciPy missing, a layer, loss or optimiser the kernels do not have, sample weights, or a
    callback that watches every batch.

    Examples
    --------
    >>> import descent
    >>> from descent.compiled import supports
    >>> net = descent.nn.MLP([2, 3, 1], activation="tanh", rng=0)
    >>> ok, why = supports(net, "mse", descent.optim.Adam(net.parameters()))
    >>> ok == descent.compiled.AVAILABLE
    True
    """
    try:
        plan = _plan(model, loss, optimizer, y, sample_weight, callbacks)
    except (_Unsupported, DescentValueError) as reason:  # (a loss name unknown)
        return False, str(reason)
    shape = "-".join(str(n) for n in [plan["layers"][0].linear.in_features]
                     + [layer.linear.out_features for layer in plan["layers"]])
    data_loss, penalty = _data_loss(loss)
    kinds = [] if penalty is None or not penalty.parameters else \
        [f"an {kind} penalty" for kind, rate in (("L1", penalty.l1), ("L2", penalty.l2))
         if rate]
    terms = " plus " + " and ".join(kinds) if kinds else ""
    return True, (f"a {shape} network, {_LOSSES[data_loss]}{terms}, "
                  f"{type(optimizer).__name__}, whole epochs in one Numba kernel")


def load(dtype="float32"):
    """Compile the kernels for ``dtype`` — or, in a later process, load them from Numba's
    cache on disk — and return the seconds it took: what a process's first epoch pays
    otherwise (once per dtype; afterwards this returns at once).

    Examples
    --------
    >>> from descent.compiled import load
    >>> load("float64") >= 0
    True
    """
    if not jit.AVAILABLE:
        raise DescentValueError(f"the compiled engine cannot run: {jit.MISSING}")
    start = time.perf_counter()
    # a layer large enough for BLAS: its first call sets up its buffers too
    net = Sequential(Linear(64, 64, dtype=dtype, rng=0))
    X = np.zeros((1, 64), dtype)
    EpochRunner(net, X, np.zeros((1, 64)), "mse",
                optim.SGD(net.parameters(), lr=0.1)).run_epoch(np.arange(1))
    return time.perf_counter() - start


def epoch_order(n, batch_size=None, shuffle=True, rng=None):
    """The row order of one epoch, drawn as ``descent.data.batches`` draws it (nothing
    for batch gradient descent, else one permutation when shuffling): the batches are
    its consecutive slices of ``batch_size`` rows.

    Examples
    --------
    >>> import numpy as np
    >>> epoch_order(5, 2, rng=np.random.default_rng(0))
    array([2, 4, 3, 0, 1])
    """
    if batch_size is None or batch_size >= n or not shuffle:
        return np.arange(n)
    return as_rng(rng).permutation(n)


@dataclass
class EpochResult:
    """What one epoch of the compiled path adds up, as the training loop records it.

    ``loss_sum`` is Σ (batch loss × batch rows) in float64, in batch order — the loop's
    running total, number for number — over ``count`` examples in ``batches`` updates;
    ``correct`` (classification) or ``squared`` and ``absolute`` (Σ e², Σ ``|e|`` of the
    outputs' errors, regression) the epoch's metrics; ``grad_norms`` each trainable
    parameter's gradient norm, by name, averaged over the batches; ``first_over`` the
    first batch (from 0) whose loss exceeded the run's limit. ``failed_batch`` is the
    batch whose loss was NaN or infinite (``failed_value``): the epoch stopped there,
    before that batch's update, as the graph engine does.
    """

    batches: int
    count: int
    loss_sum: float
    correct: int = 0
    squared: float = 0.0
    absolute: float = 0.0
    grad_norms: dict = field(default_factory=dict)
    first_over: int = None
    failed_batch: int = None
    failed_value: float = None

    @property
    def loss(self):
        """The epoch's mean loss (what ``History`` records as ``loss``)."""
        return self.loss_sum / self.count if self.count else math.nan


class EpochRunner:
    """Trains a supported network (see :func:`supports`) an epoch at a time through the
    whole-epoch Numba kernel, with the graph engine's numbers.

    Parameters
    ----------
    model : Sequential
        The network; its parameters are updated in place, in training mode (dropout
        on), as ``train()`` trains.
    X : ndarray, shape (n, features)
        The training inputs, worked on in the parameters' dtype (a copy, unless they
        are in it already, as ``train()`` casts them).
    y : ndarray
        The targets as ``train()`` prepares them: one integer label per row for
        ``cross_entropy`` and ``nll``, else a float array of one column per output.
    loss : str or callable
        A built-in loss, by name or function.
    optimizer : Optimizer
        SGD, AdaGrad, RMSProp, Adam or AdamW over exactly the model's parameters; its
        hyper-parameters (a schedule's ``lr`` too) are read at every epoch.
    batch_size : int or None
        None (or n or more): batch gradient descent; 1: stochastic; k: mini-batches.
    task : str, optional
        How accuracy or errors are counted: ``"regression"``, ``"multiclass"``,
        ``"binary"`` or ``"multilabel"``; by default what ``train()`` infers from the
        loss. ``logits`` says that binary outputs are logits (threshold 0, not ½).
    diagnostics : bool
        Add up each parameter's gradient norm over the batches (``grad_norms``, as
        ``train(diagnostics=True)`` records them); ``False`` skips that pass.

    Examples
    --------
    >>> import numpy as np
    >>> import descent
    >>> from descent.compiled import EpochRunner, epoch_order
    >>> X, y = descent.datasets.truth_table("xor")
    >>> net = descent.nn.MLP([2, 4, 2], activation="tanh", rng=0)
    >>> runner = EpochRunner(net, X.astype(np.float32), y, "cross_entropy",
    ...                      descent.optim.SGD(net.parameters(), lr=0.5))
    >>> result = runner.run_epoch(epoch_order(4))
    >>> result.batches, result.count
    (1, 4)
    """

    def __init__(self, model, X, y, loss, optimizer, batch_size=None, *, task=None,
                 logits=None, diagnostics=True):
        try:
            plan = _plan(model, loss, optimizer, y)
        except _Unsupported as reason:
            raise DescentValueError(f"the compiled engine cannot train this: {reason}; it "
                                    f"takes {SUPPORTED}") from None
        self.model, self.optimizer = model, optimizer
        self.diagnostics = bool(diagnostics)
        self.dtype = np.dtype(plan["dtype"])
        X = np.asarray(X)
        if X.ndim != 2 or X.dtype.kind not in "biuf":
            raise DescentValueError(f"X must be a 2-D array of numbers, got {X.dtype} of "
                                    f"shape {X.shape}")
        # in the parameters' dtype (no copy when it is already, as train() casts it)
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self._flat_X = self.X.reshape(-1)
        self.n = len(X)
        if len(y) != self.n:
            raise DescentValueError(f"X has {self.n} rows but y has {len(y)}")
        self.batch_size = self.n if batch_size is None or batch_size >= self.n \
            else int(batch_size)
        self._layers, self._input_dropout = plan["layers"], plan["input_dropout"]
        if self._layers[0].linear.in_features != X.shape[1]:
            raise ShapeError(f"the layer takes {self._layers[0].linear.in_features} input "
                             f"features, the input has shape {X.shape}")
        self._opt_code, self._loss_code = plan["optimizer"], plan["loss"]
        self._on_logits = plan["on_logits"]
        default_task, default_logits = _default_task(self._loss_code, self._on_logits)
        task = default_task if task is None else task
        if task not in _TASKS:
            raise DescentValueError(f"task must be one of {tuple(_TASKS)}, got {task!r}")
        self._task = _TASKS[task]
        self._threshold = 0.0 if (default_logits if logits is None else logits) else 0.5
        self._targets(plan["codes"], plan["values"])
        self._lay_out(plan["parameters"])
        self._penalties, self._rates = self._penalty_rows(plan["penalized"]), plan["rates"]

    # ------------------------------------------------------------------ construction
    def _targets(self, codes, values):
        empty_codes = np.zeros(0, np.int64)
        self._tcodes = empty_codes if codes is None else codes
        self._tvals = np.zeros((0, 0), self.dtype) if values is None else \
            np.ascontiguousarray(values, dtype=self.dtype)
        self._tmetric = np.zeros((0, 0)) if values is None else \
            np.ascontiguousarray(values, dtype=np.float64)

    def _lay_out(self, parameters):
        """Offsets of every parameter and buffer; the flat arrays, allocated once."""
        dt, batch = self.dtype, self.batch_size
        depth = len(self._layers)
        self._table = np.full((depth, epoch.LAYER_FIELDS), -1, np.int64)
        self._floats = np.zeros((depth, epoch.LAYER_FLOAT_FIELDS))
        offset = work = 0
        slots = []  # (parameter, offset) in theta
        segments = []  # (offset, size, parameter)
        for index, layer in enumerate(self._layers):
            row, linear = self._table[index], layer.linear
            row[epoch.L_IN], row[epoch.L_OUT] = linear.in_features, linear.out_features
            row[epoch.L_ACT] = activations.CODES[layer.activation]
            for field_, p in ((epoch.L_W, linear.weight), (epoch.L_B, linear.bias)):
                if p is None:
                    continue
                row[field_] = offset
                slots.append((p, offset))
                if p.requires_grad:
                    row[epoch.L_WSEG if field_ == epoch.L_W else epoch.L_BSEG] = \
                        len(segments)
                    segments.append((offset, p.data.size, p))
                offset += p.data.size
            units = batch * linear.out_features
            row[epoch.L_Z] = work
            # the activation overwrites its net inputs where its backward needs only its
            # output (as the graph engine's fused dense layer does), and where the loss
            # does not work from the logits underneath it
            in_place = layer.activation in _IN_PLACE and not (
                index == len(self._layers) - 1 and self._on_logits)
            row[epoch.L_O] = work if in_place else work + units
            work = row[epoch.L_O] + units
            if layer.dropout is not None and layer.dropout.p:
                row[epoch.L_D] = work
                work += units
                self._floats[index, epoch.F_P] = layer.dropout.p
                self._floats[index, epoch.F_SCALE] = _dropout_scale(layer.dropout.p, dt)
            self._floats[index, epoch.F_PARAM] = layer.param
            # the gradient goes below this layer only when something there learns
            row[epoch.L_BACK] = any(q.requires_grad for earlier in self._layers[:index]
                                    for q in (earlier.linear.weight, earlier.linear.bias)
                                    if q is not None)
        names = {id(p): name for name, p in self.model.named_parameters()}
        self.theta = np.zeros(offset, dt)
        self.grads = np.zeros(offset, dt)
        self._params = [(p, self.theta[o:o + p.data.size].reshape(p.shape))
                        for p, o in slots]
        self._slot_of = {id(p): (o, p.data.size) for p, o in slots}
        self._segments = np.zeros((len(segments), epoch.SEGMENT_FIELDS), np.int64)
        # the state slots these settings use, one after the other (none for plain SGD)
        every = _STATE_KEYS[self._opt_code]
        self._slots = max((every.index(key) + 1 for key in
                           _kept_keys(self._opt_code, self.optimizer.hyper)), default=0)
        keys = every[:self._slots]
        self.state = np.zeros(len(keys) * offset, dt)
        index_of = {id(p): i for i, p in enumerate(self.optimizer.params)}
        self._trainable = []
        for s, (o, size, p) in enumerate(segments):
            self._segments[s, epoch.S_OFFSET], self._segments[s, epoch.S_SIZE] = o, size
            self._trainable.append((
                p, names.get(id(p), f"parameter {s}"), index_of[id(p)],
                self.grads[o:o + size].reshape(p.shape),
                [self.state[slot * offset + o:slot * offset + o + size].reshape(p.shape)
                 for slot in range(len(keys))]))
        self.work = np.zeros(work, dt)
        blocks = np.cumsum([0] + [batch * layer.linear.out_features
                                  for layer in self._layers])
        self._table[:, epoch.L_G] = blocks[:-1]  # each layer's gradient block
        self.delta = np.zeros(blocks[-1], dt)
        self._xbuf = None  # the gathered batch: made when an epoch first needs one
        self._xbuf_unused = np.zeros(0, dt)
        self._dropouts = [(index, layer.dropout) for index, layer in enumerate(self._layers)
                          if layer.dropout is not None and layer.dropout.p]
        units = sum(self._layers[i].linear.out_features for i, _ in self._dropouts)
        if self._input_dropout is not None and self._input_dropout.p:
            units += self.X.shape[1]
        else:
            self._input_dropout = None
        self._dropout_units = units
        rows = batch * max(1, _UNIFORMS_PER_CALL // max(batch * units, 1)) if units else 0
        self._rows_per_call = rows
        self._uniforms = np.zeros(rows * units if units else 0)

    def _penalty_rows(self, penalized):
        """The table ``losses.P_*`` of the penalised parameters (``(id, learns)`` pairs)."""
        rows = np.zeros((len(penalized), losses.PENALTY_FIELDS), np.int64)
        for row, (key, learns) in zip(rows, penalized):
            row[losses.P_OFFSET], row[losses.P_SIZE] = self._slot_of[key]
            row[losses.P_LEARNS] = learns
        return rows

    # ------------------------------------------------------------------ one epoch
    def order(self, shuffle=True, rng=None):
        """The next epoch's row order for this runner's batch size, drawn from ``rng``
        as the training loop draws it (:func:`epoch_order`)."""
        return epoch_order(self.n, None if self.batch_size >= self.n else self.batch_size,
                           shuffle, rng)

    def run_epoch(self, order, limit=math.inf, hold=False):
        """Train one epoch on the rows in ``order`` (a permutation of 0..n−1, as
        :func:`epoch_order` draws it; its consecutive slices of ``batch_size`` rows are
        the batches) and return its :class:`EpochResult`.

        ``limit``: the loss past which a batch counts as ``first_over`` (the loop's
        divergence limit). ``hold``: leave the model's weights as they were when the
        epoch began, the new ones held here until :meth:`commit` — so that a caller
        who may have to restore the epoch's start needs no copy of it (gradients and
        optimiser state are the model's and the optimiser's as always). Raises
        ``DescentValueError`` when binary cross-entropy meets outputs outside [0, 1],
        as the graph engine's loss does (the batches before it keep their updates).
        """
        results, norms = self._run(np.asarray(order, dtype=np.int64)[None, :], limit, hold)
        try:
            return self._result(results[0], norms[0])
        except DescentValueError:
            self.commit()
            raise

    def commit(self):
        """Write the weights an epoch run with ``hold=True`` holds into the model."""
        for p, view in self._params:
            np.copyto(p.data, view)

    def held_finite(self):
        """Whether the held weights are all finite numbers (their sum of squares is, or
        else each one is: huge finite weights may square to infinity)."""
        squares = optimizers.sum_of_squares(self.theta, 0, self.theta.size)
        return math.isfinite(squares) or bool(np.all(np.isfinite(self.theta)))

    def held_change(self):
        """The Euclidean norm of the held weights minus the model's (the epoch's change
        of every parameter, as ``weight_change`` records it), in float64."""
        total = 0.0
        for p, view in self._params:
            flat, old = view.reshape(-1), p.data.reshape(-1)
            for start in range(0, flat.size, _CHANGE_BLOCK):
                # (the difference in the weights' dtype, as the training loop takes it)
                step = (flat[start:start + _CHANGE_BLOCK]
                        - old[start:start + _CHANGE_BLOCK]).astype(np.float64)
                total += float(np.dot(step, step))
        return math.sqrt(total)

    def run_epochs(self, orders):
        """Train one epoch per row of ``orders`` (epochs × n row orders) in one kernel
        call, checking nothing in between, and return each epoch's mean loss: for
        benchmarks and callers that need no per-epoch decisions. A loss that is not a
        finite number stops it with a ``DescentValueError``."""
        results, _ = self._run(np.asarray(orders, dtype=np.int64), math.inf)
        failed = np.flatnonzero(results[:, epoch.R_STATUS] != epoch.DONE)
        if failed.size:
            row = results[failed[0]]
            self._result(row, ())  # raises for probabilities outside [0, 1]
            raise DescentValueError(
                f"the loss became {row[epoch.R_VALUE]} at epoch {failed[0] + 1}, batch "
                f"{int(row[epoch.R_FAILED]) + 1}; try a smaller learning rate")
        return results[:, epoch.R_LOSS] / results[:, epoch.R_COUNT]

    def _run(self, orders, limit, hold=False):
        """The kernel on the epochs' orders (rows of ``orders``): (results, norms)."""
        if orders.ndim != 2 or orders.shape[1] != self.n or (orders.size and (
                orders.min() < 0 or orders.max() >= self.n)):
            raise DescentValueError(f"each epoch's order must hold the {self.n} row "
                                    f"numbers 0..{self.n - 1}")
        epochs = len(orders)
        order = np.ascontiguousarray(orders).reshape(-1)
        # in order (0..n−1, the only increasing order of n row numbers below n): the
        # batches are slices of X, read where they lie
        gather = self._input_dropout is not None or \
            not bool((orders[:, 1:] > orders[:, :-1]).all())
        if gather and self._xbuf is None:
            self._xbuf = np.zeros(self.batch_size * self.X.shape[1], self.dtype)
        xbuf = self._xbuf if gather else self._xbuf_unused
        results = np.zeros((epochs, epoch.RESULT_FIELDS))
        results[:, [epoch.R_FIRST_OVER, epoch.R_FAILED]] = -1
        norms = np.zeros((epochs, len(self._segments) if self.diagnostics else 0))
        self.model.train()  # training mode (dropout on), as train() trains
        self._take_in()
        kept = _kept_keys(self._opt_code, self.optimizer.hyper)
        if any(_STATE_KEYS[self._opt_code].index(key) >= self._slots for key in kept):
            raise DescentValueError("the optimiser's settings changed since the compiled "
                                    "engine was laid out (its state needs more room); "
                                    "make a new EpochRunner")
        h64 = np.array(optimizers.settings(self._opt_code, self.optimizer.hyper))
        h = h64.astype(self.dtype)
        table = self._table.copy()
        generators, cursors, site_gens = self._generators()
        input_gen = site_gens.pop(-1) if self._input_dropout is not None else -1
        for (index, _), gen in zip(self._dropouts, site_gens):
            table[index, epoch.L_GEN] = gen
        per_epoch = -(-self.n // self.batch_size)
        total = epochs * per_epoch
        step = total if not self._dropout_units else \
            max(1, self._rows_per_call // self.batch_size)
        dropout = self._input_dropout
        runs, members = self._runs()
        hyper = self.optimizer.hyper
        # plain SGD steps inside the backward pass, where every weight product goes to
        # BLAS (on a small network the per-layer steps cost more than the pass they save)
        fuse = self._opt_code == optimizers.SGD and not self.diagnostics and \
            not len(self._penalties) and \
            not hyper["momentum"] and not hyper["weight_decay"] and all(
                self.batch_size * layer.linear.in_features * layer.linear.out_features
                >= products.BLAS_MIN for layer in self._layers)
        try:
            first = 0
            while first < total:
                last = min(total, first + step)
                self._draw(generators, cursors, first, last, per_epoch)
                stopped = epoch.run_batches(
                    self._flat_X, order, self.n, self.batch_size, first, last, gather,
                    self._tcodes, self._tvals, self._tmetric, self._loss_code,
                    self._on_logits, self._task, self._threshold,
                    self.theta, self.grads, self.state, self.work, self.delta, table,
                    self._floats, xbuf, input_gen, float(dropout.p) if dropout else 0.0,
                    _dropout_scale(dropout.p, self.dtype) if dropout else 1.0,
                    self._uniforms, cursors, self._opt_code, h, h64, self._segments, runs,
                    fuse, float(limit), results, norms, self._penalties, self._rates)
                if stopped < last:
                    break
                first = last
        finally:
            for run, segment in zip(members, self._segments):
                segment[epoch.S_STEP:] = runs[run, epoch.S_STEP:]
            self._give_back(weights=not hold)
        return results, norms

    def _runs(self):
        """The trainable parameters as runs for the update: neighbours in ``theta``
        whose step count and state (made or not) agree are one run. Returns the runs
        table and each segment's run."""
        runs, members = [], []
        for segment in self._segments:
            last = runs[-1] if runs else None
            if last is not None and last[epoch.S_OFFSET] + last[epoch.S_SIZE] == \
                    segment[epoch.S_OFFSET] and \
                    np.array_equal(last[epoch.S_STEP:], segment[epoch.S_STEP:]):
                last[epoch.S_SIZE] += segment[epoch.S_SIZE]
            else:
                runs.append(segment.copy())
            members.append(len(runs) - 1)
        table = np.array(runs, dtype=np.int64).reshape(-1, epoch.SEGMENT_FIELDS)
        return table, members

    def _result(self, row, norm_row):
        status = int(row[epoch.R_STATUS])
        if status == epoch.BAD_PROBABILITIES:
            low, high = row[epoch.R_LOW], row[epoch.R_HIGH]
            raise DescentValueError(
                "binary_cross_entropy takes probabilities in [0, 1] (for example a sigmoid "
                f"output); got values from {low:.4g} to {high:.4g}. End the network in "
                "sigmoid, or use binary_cross_entropy_with_logits on raw scores")
        batches = int(row[epoch.R_BATCHES])
        return EpochResult(
            batches=batches, count=int(row[epoch.R_COUNT]), loss_sum=float(row[epoch.R_LOSS]),
            correct=int(row[epoch.R_CORRECT]), squared=float(row[epoch.R_SQUARED]),
            absolute=float(row[epoch.R_ABSOLUTE]),
            grad_norms={name: float(norm) / batches for (_, name, *_), norm
                        in zip(self._trainable, norm_row)} if batches and self.diagnostics
            else {},
            first_over=None if row[epoch.R_FIRST_OVER] < 0 else int(row[epoch.R_FIRST_OVER]),
            failed_batch=None if status != epoch.NOT_FINITE else int(row[epoch.R_FAILED]),
            failed_value=None if status != epoch.NOT_FINITE else float(row[epoch.R_VALUE]))

    # ------------------------------------------------------------------ model <-> runner
    def _take_in(self):
        """Copy the model's parameters and the optimiser's state into the flat arrays."""
        for p, view in self._params:
            if p.data.shape != view.shape or p.data.dtype != view.dtype:
                raise DescentValueError(f"a parameter became {p.data.dtype} of shape "
                                        f"{p.data.shape}; the compiled engine was laid out "
                                        f"for {view.dtype} of shape {view.shape}")
            np.copyto(view, p.data)
        keys = _STATE_KEYS[self._opt_code]
        for s, (p, _, index, _, views) in enumerate(self._trainable):
            state = self.optimizer.state[index]
            for slot, (key, view) in enumerate(zip(keys, views)):
                held = state.get(key)
                if held is not None and held is not view:
                    np.copyto(view, held)
                self._segments[s, epoch.S_FRESH0 + slot] = held is None
            self._segments[s, epoch.S_STEP] = state.get("step", 0)

    def _give_back(self, weights=True):
        """Write the parameters (unless not ``weights``) back into the model's arrays
        and the state into the optimiser's dicts (the keys the update functions would
        have made)."""
        if weights:
            self.commit()
        keys = _kept_keys(self._opt_code, self.optimizer.hyper)
        for s, (p, _, index, grad, views) in enumerate(self._trainable):
            state = self.optimizer.state[index]
            for slot, (key, view) in enumerate(zip(_STATE_KEYS[self._opt_code], views)):
                if key in keys and not self._segments[s, epoch.S_FRESH0 + slot]:
                    state[key] = view
            if self._opt_code in _COUNTS_STEPS and self._segments[s, epoch.S_STEP]:
                state["step"] = int(self._segments[s, epoch.S_STEP])
            p.grad = grad

    # ------------------------------------------------------------------ dropout
    def _generators(self):
        """The dropout layers' generators (each once), the first draw of each in the
        uniforms buffer, and each dropout layer's generator (the input's last)."""
        sites = [d for _, d in self._dropouts]
        if self._input_dropout is not None:
            sites.append(self._input_dropout)
        generators, site_gens = [], []
        for dropout in sites:
            rng = as_rng(dropout.rng)
            found = next((i for i, g in enumerate(generators) if g is rng), None)
            if found is None:
                generators.append(rng)
                found = len(generators) - 1
            site_gens.append(found)
        if self._input_dropout is not None:  # the input layer comes first in each batch
            site_gens = site_gens[:-1] + [site_gens[-1]]
        units = [0] * len(generators)
        widths = [self._layers[i].linear.out_features for i, _ in self._dropouts]
        if self._input_dropout is not None:
            widths.append(self.X.shape[1])
        for gen, width in zip(site_gens, widths):
            units[gen] += width
        self._units_per_gen = units
        return generators, np.zeros(len(generators), np.int64), site_gens

    def _draw(self, generators, cursors, first, last, per_epoch):
        """Fill the uniforms buffer with each generator's numbers for batches ``first``
        to ``last − 1``: one generator's block after the other."""
        if not generators:
            return
        rows = sum(min(self.batch_size, self.n - (b % per_epoch) * self.batch_size)
                   for b in range(first, last))
        start = 0
        for gen, (rng, units) in enumerate(zip(generators, self._units_per_gen)):
            cursors[gen] = start
            rng.random(out=self._uniforms[start:start + rows * units])
            start += rows * units


def _kept_keys(code, hyper):
    """The state arrays the update function keeps with these settings."""
    if code == optimizers.SGD:
        return ("momentum_buffer",) if hyper["momentum"] else ()
    if code == optimizers.RMSPROP:
        return ("square_avg",) + (("grad_avg",) if hyper["centered"] else ()) + \
            (("momentum_buffer",) if hyper["momentum"] else ())
    return _STATE_KEYS[code]


def _dropout_scale(p, dtype):
    """The value a kept element is multiplied by, as ``Dropout`` makes it: 1 of the
    dtype divided by 1 − p."""
    return float((np.ones(1, dtype) / (1 - p))[0])
