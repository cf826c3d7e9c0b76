"""Optimisers, in order of increasing complexity, with torch.optim's names and semantics.

Each first-order method is a pure, in-place update function
``update(param, grad, state, **hyper)`` on NumPy arrays — testable without a model —
and a thin ``Optimizer`` class that applies it to every parameter that has a gradient.
Frozen parameters (``requires_grad = False``) and parameters without a gradient are
left alone.

- ``SGD``: w ← w − η·g, with optional momentum (Polyak; Nesterov, Sutskever et al. 2013)
  and weight decay (an L2 penalty added to the gradient).
- ``AdaGrad``: per-weight step sizes from the sum of squared gradients (Duchi et al. 2011).
- ``RMSProp``: the same with a moving average of squared gradients (Hinton, 2012).
- ``Adam``: moving averages of the gradient and its square, bias-corrected
  (Kingma & Ba, 2015); ``AdamW`` decouples the weight decay (Loshchilov & Hutter, 2019).
- ``LBFGS``: a limited-memory quasi-Newton method for full-batch training
  (Liu & Nocedal, 1989), the "second-order" method; needs a closure.

Hyper-parameters are checked when an optimiser is made and again when a saved state is
loaded (``check_hyper``, ``checked_state``): finite numbers in range (lr > 0, or >= 0 once
a schedule has annealed it; momentum, alpha and betas in [0, 1); eps > 0; weight decay
>= 0), integers where counts are meant, True or False for flags — never a bool or a
string for a number.
"""

import math

import numpy as np

from descent.errors import DescentTypeError, DescentValueError, ShapeError, lookup
from descent.optim.flat import FlatParameters
from descent.autograd.tensor import Tensor


# ----------------------------------------------------------------------------- checks
def _check(name, value, low=None, high=None, low_open=False, high_open=True):
    """Raise a clear error unless ``value`` is a finite number with
    ``low (<|<=) value (<|<=) high``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating,
                                                                     np.integer)) \
            or value != value:  # NaN
        raise DescentValueError(f"{name} must be a number, got {value!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite:
        raise DescentValueError(f"{name} must be a finite number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{low if low is not None else '-inf'}, " \
               f"{high if high is not None else 'inf'}{right}"
        raise DescentValueError(f"{name} must be in {span}, got {value!r}")
    return float(value)


def _check_lr(lr):
    """A new optimiser's learning rate: a finite number > 0."""
    return _check("lr", lr, low=0, low_open=True)


def _check_rate(lr):
    """The learning rate as a schedule may leave it: a finite number >= 0 (annealed to
    nothing is allowed)."""
    return _check("lr", lr, low=0)


def _check_count(name, value, low=0):
    """An integer setting or counter, at least ``low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < low:
        raise DescentValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise DescentValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _settings(hyper, names):
    """``hyper`` as a dict, which must hold exactly the settings ``names``."""
    if not isinstance(hyper, dict) or set(hyper) != set(names):
        found = sorted(map(str, hyper)) if isinstance(hyper, dict) else repr(hyper)
        raise DescentValueError(f"the optimiser settings must be {', '.join(names)}; "
                                f"got {found}")
    return hyper


def _check_array(name, value, shape, dtype, non_negative=False):
    """``value`` if it is an array of ``shape`` and ``dtype`` with finite values (and none
    below 0 when ``non_negative``: a sum of squares)."""
    if not isinstance(value, np.ndarray):
        raise DescentValueError(f"{name} must be an array, got {type(value).__name__}")
    if value.shape != tuple(shape):
        raise ShapeError(f"{name} has shape {value.shape}, expected {tuple(shape)}")
    if value.dtype != dtype:
        raise DescentValueError(f"{name} has dtype {value.dtype}, expected {np.dtype(dtype)}")
    if not np.all(np.isfinite(value)):
        raise DescentValueError(f"{name} has NaN or infinite values")
    if non_negative and np.any(value < 0):
        raise DescentValueError(f"{name} has negative values, but it is a sum of squares")
    return value


def _check_state_entry(name, value, kind, parameter):
    """One entry of a parameter's optimiser state, of ``kind`` (see
    ``Optimizer.state_kinds``)."""
    if kind == "count":
        return _check_count(name, value)
    return _check_array(name, value, parameter.shape, parameter.dtype,
                        non_negative=kind == "squares")


# ----------------------------------------------------------------------------- updates
def _scratch(param, scratch):
    return np.empty_like(param) if scratch is None else scratch


def sgd_update(param, grad, state, lr, momentum=0.0, dampening=0.0, nesterov=False,
               weight_decay=0.0, scratch=None):
    """One SGD step, in place: ``param -= lr * direction``.

    With momentum μ the direction is the buffer b ← μ·b + (1 − dampening)·g (b = g on the
    first step); with Nesterov it is g + μ·b. Weight decay λ adds λ·w to g first.
    ``scratch`` is an optional work array shaped like ``param`` (saves an allocation).
    """
    work = _scratch(param, scratch)
    if weight_decay:
        grad = grad + weight_decay * param
    if momentum:
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = state["momentum_buffer"] = grad.copy()
        else:
            buffer *= momentum
            if dampening:
                np.multiply(grad, 1 - dampening, out=work)
                buffer += work
            else:
                buffer += grad
        if nesterov:
            np.multiply(buffer, momentum, out=work)
            work += grad
            grad = work
        else:
            grad = buffer
    np.multiply(grad, lr, out=work)
    param -= work


def adagrad_update(param, grad, state, lr, lr_decay=0.0, weight_decay=0.0,
                   initial_accumulator_value=0.0, eps=1e-10, scratch=None):
    """One AdaGrad step: the accumulated squared gradient G scales each weight's step,
    w ← w − η_t · g / (√G + ε) with η_t = η / (1 + (t − 1)·lr_decay)."""
    step = state["step"] = state.get("step", 0) + 1
    if weight_decay:
        grad = grad + weight_decay * param
    total = state.get("sum")
    if total is None:
        total = state["sum"] = np.full_like(param, initial_accumulator_value)
    work = _scratch(param, scratch)
    np.multiply(grad, grad, out=work)
    total += work
    np.sqrt(total, out=work)
    work += eps
    np.divide(grad, work, out=work)
    work *= lr / (1 + (step - 1) * lr_decay)
    param -= work


def rmsprop_update(param, grad, state, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                   momentum=0.0, centered=False, scratch=None):
    """One RMSProp step: v ← αv + (1 − α)g², w ← w − η·g / (√v + ε).

    ``centered`` divides by the estimated standard deviation √(v − ḡ²) instead;
    ``momentum`` accumulates the scaled steps in a buffer.
    """
    work = _scratch(param, scratch)
    if weight_decay:
        grad = grad + weight_decay * param
    square_avg = state.get("square_avg")
    if square_avg is None:
        square_avg = state["square_avg"] = np.zeros_like(param)
    square_avg *= alpha
    np.multiply(grad, grad, out=work)
    work *= 1 - alpha
    square_avg += work
    if centered:
        grad_avg = state.get("grad_avg")
        if grad_avg is None:
            grad_avg = state["grad_avg"] = np.zeros_like(param)
        grad_avg *= alpha
        grad_avg += (1 - alpha) * grad
        denominator = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        denominator = np.sqrt(square_avg) + eps
    if momentum:
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = state["momentum_buffer"] = np.zeros_like(param)
        buffer *= momentum
        np.divide(grad, denominator, out=work)
        buffer += work
        np.multiply(buffer, lr, out=work)
    else:
        np.divide(grad, denominator, out=work)
        work *= lr
    param -= work


def adam_update(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                decoupled=False, scratch=None):
    """One Adam step (AdamW when ``decoupled``).

    m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², w ← w − η·m̂ / (√v̂ + ε) with the
    bias corrections m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ). Adam adds the weight decay
    λw to g; AdamW instead shrinks w by the factor (1 − ηλ) before the step.
    """
    beta1, beta2 = betas
    step = state["step"] = state.get("step", 0) + 1
    if weight_decay:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    m = state.get("exp_avg")
    if m is None:
        m = state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
    v = state["exp_avg_sq"]
    work = _scratch(param, scratch)
    # Written with one work array: each line is one pass over memory.
    m *= beta1
    np.multiply(grad, 1 - beta1, out=work)
    m += work
    v *= beta2
    np.multiply(grad, grad, out=work)
    work *= 1 - beta2
    v += work
    correction1 = 1 - beta1 ** step
    root2 = math.sqrt(1 - beta2 ** step)
    # η · m̂ / (√v̂ + ε) = (η·√(1 − β₂ᵗ) / (1 − β₁ᵗ)) · m / (√v + ε·√(1 − β₂ᵗ)): the
    # same number with one pass fewer
    np.sqrt(v, out=work)
    work += eps * root2
    np.divide(m, work, out=work)
    work *= lr * root2 / correction1
    param -= work


# ----------------------------------------------------------------------------- classes
class Optimizer:
    """Holds the parameters, their per-parameter state and the hyper-parameters.

    A subclass names its update, its hyper-parameters' checks (``check_hyper``) and the
    per-parameter state its update keeps (``state_kinds``); ``checked_state`` holds a
    saved state to both before ``load_state_dict`` takes it in.
    """

    update = None
    # True when ``update`` works element by element (no norm or sum over a parameter),
    # so that it may run once on all of a small network's parameters (descent.flat).
    elementwise = False
    # What the update keeps per parameter, by key: "array" (shaped like the parameter),
    # "squares" (the same, a sum of squares: never negative) or "count" (steps taken).
    state_kinds = {}

    def __init__(self, params, **hyper):
        _check_lr(hyper.get("lr"))  # only a schedule may bring the rate down to 0 later
        hyper = self.check_hyper(hyper)
        self.params = list(params)
        if not self.params:
            raise DescentValueError(
                "the optimiser got no parameters; pass model.parameters()"
            )
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise DescentTypeError(
                    f"parameter {index} is a {type(p).__name__}, not a Tensor"
                )
        self.hyper = hyper
        self.state = [{} for _ in self.params]
        # Small networks are updated through one flat array (see descent.flat).
        self._flat = FlatParameters(self.params) \
            if self.elementwise and FlatParameters.suits(self.params) else None

    @property
    def state(self):
        """Per-parameter state: one dict per parameter (e.g. ``"exp_avg"``, ``"step"``).

        While a small network is updated through one flat array, each array here is a
        view of its slice of the flat state, and the numbers (``"step"``) are kept in
        step: the dicts are always current, as in torch.optim.
        """
        return self._state

    @state.setter
    def state(self, states):
        self._state = states
        self._flat_state = None  # the whole state in flat arrays, while updates are flat
        self._state_views = {}   # key -> (flat array, the per-parameter views of it)

    @property
    def lr(self):
        """The learning rate η; schedules change it between steps."""
        return self.hyper["lr"]

    @lr.setter
    def lr(self, value):
        self.hyper["lr"] = _check_rate(value)

    @staticmethod
    def check_hyper(hyper):
        """``hyper`` with every setting checked (and normalised: floats, tuples).

        Raises ``DescentValueError`` naming the first setting that is missing, unknown
        or out of range. The learning rate may be 0 here (a schedule may have annealed
        it); constructors insist on lr > 0.
        """
        if not isinstance(hyper, dict) or "lr" not in hyper:
            raise DescentValueError(f"the optimiser settings must be a dict with 'lr', got "
                                    f"{hyper!r}")
        return {**hyper, "lr": _check_rate(hyper["lr"])}

    def parameters_finite(self):
        """Whether every parameter holds finite values only: one check of the flat array
        after a flat update (a small network), one per parameter otherwise."""
        if self._flat is not None and self._flat_state is not None:
            return bool(np.isfinite(self._flat.data).all())
        return all(np.isfinite(p.data).all() for p in self.params)

    def zero_grad(self):
        """Forget the gradients of all parameters (sets them to None)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient and is not frozen."""
        update, hyper = type(self).update, self.hyper
        if self._flat is not None and self._flat_ready():
            flat = self._flat
            update(flat.data, flat.gather_grads(), self._flat_state, scratch=flat.work,
                   **hyper)
            self._mirror_flat_state()
            return
        # Parameter by parameter (large ones, or some without a gradient); each update
        # takes a work array only while it runs, so that training holds no second copy
        # of the weights between steps.
        self._flat_state = None
        for p, state in zip(self.params, self._state):
            if p.grad is not None and p.requires_grad:
                update(p.data, p.grad, state, **hyper)

    def _flat_ready(self):
        """Whether this step can update the flat array: every parameter trainable with a
        gradient, packed, and the state (if any) held flat too."""
        if not self._flat.ready():
            return False
        if self._flat_state is None:
            self._flat_state = self._joined_state()
            if self._flat_state is None:
                return False
            self._mirror_flat_state()
        return True

    def _joined_state(self):
        """The per-parameter state as one flat state, or None when the parameters'
        states differ in kind (e.g. one skipped a step the others took). Arrays that
        are already views of one flat array are used as they are."""
        first = self._state[0]
        if any(state.keys() != first.keys() for state in self._state):
            return None
        joined = {}
        for key, value in first.items():
            values = [state[key] for state in self._state]
            if isinstance(value, np.ndarray):
                flat, views = self._state_views.get(key, (None, ()))
                if not all(v is w for v, w in zip(values, views)) or len(views) != len(values):
                    flat = self._flat.join(values)
                joined[key] = flat
            elif all(v == value for v in values):
                joined[key] = value
            else:
                return None
        return joined

    def _mirror_flat_state(self):
        """Make each parameter's state show the flat state: views of its arrays (made
        when an array is new) and the same numbers."""
        for key, value in self._flat_state.items():
            if not isinstance(value, np.ndarray):
                for state in self._state:
                    state[key] = value
            elif self._state_views.get(key, (None,))[0] is not value:
                views = self._flat.views_of(value)
                self._state_views[key] = (value, views)
                for state, view in zip(self._state, views):
                    state[key] = view

    def state_dict(self):
        """Hyper-parameters and per-parameter state (copies of the arrays)."""
        return {
            "hyper": dict(self.hyper),
            "state": [{k: (v.copy() if isinstance(v, np.ndarray) else v)
                       for k, v in state.items()} for state in self.state],
        }

    def checked_state(self, state_dict):
        """``state_dict`` (as ``state_dict()`` returns it, or as read back from a file)
        checked to fit this optimiser; its arrays are not copied.

        Checked: the hyper-parameters (``check_hyper``), one state per parameter, only
        the keys of ``state_kinds``, arrays of the parameter's shape and dtype with
        finite values (sums of squares also >= 0), and step counts that are integers
        >= 0.

        Raises
        ------
        DescentValueError or ShapeError
            Naming the entry that does not fit, e.g. ``optimiser state 'exp_avg' of
            parameter 2 has shape (3,), expected (4,)``.
        """
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("state"), list):
            raise DescentValueError("an optimiser state must be a dict with 'hyper' and a "
                                    "'state' list, as state_dict() returns")
        hyper = self.check_hyper(state_dict.get("hyper"))
        states = state_dict["state"]
        if len(states) != len(self.params):
            raise ShapeError(
                f"optimiser state has {len(states)} parameters, this optimiser has "
                f"{len(self.params)}"
            )
        checked = []
        for index, (p, state) in enumerate(zip(self.params, states)):
            if not isinstance(state, dict) or not set(state) <= set(self.state_kinds):
                found = list(state) if isinstance(state, dict) else repr(state)
                raise DescentValueError(
                    f"optimiser state of parameter {index} holds {found}; a "
                    f"{type(self).__name__} keeps {sorted(self.state_kinds) or 'nothing'}")
            checked.append({key: _check_state_entry(
                f"optimiser state {key!r} of parameter {index}", value,
                self.state_kinds[key], p) for key, value in state.items()})
        return {"hyper": hyper, "state": checked}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` returned, once ``checked_state`` found that it
        fits this optimiser (a ``DescentValueError`` or ``ShapeError`` otherwise)."""
        self._take(self.checked_state(state_dict))

    def _take(self, checked):
        """Take in a state that ``checked_state`` returned (copying its arrays)."""
        self.hyper = checked["hyper"]
        self.state = [{k: (v.copy() if isinstance(v, np.ndarray) else v)
                       for k, v in state.items()} for state in checked["state"]]

    def max_state_bytes(self):
        """The most bytes of arrays ``state_dict()`` can hold for these parameters (what
        a checkpoint may declare for it)."""
        arrays = sum(kind != "count" for kind in self.state_kinds.values())
        return arrays * sum(p.data.nbytes for p in self.params)

    def __repr__(self):
        settings = ", ".join(f"{k}={v}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Stochastic gradient descent, w ← w − η·g, with optional momentum and weight decay.

    Examples
    --------
    >>> import descent
    >>> w = descent.tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.data       # 1 − 0.1·2
    array([0.8], dtype=float32)
    """

    update = staticmethod(sgd_update)
    elementwise = True
    state_kinds = {"momentum_buffer": "array"}

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening,
                         nesterov=nesterov, weight_decay=weight_decay)

    @staticmethod
    def check_hyper(hyper):
        hyper = _settings(hyper, ("lr", "momentum", "dampening", "nesterov", "weight_decay"))
        checked = dict(lr=_check_rate(hyper["lr"]),
                       momentum=_check("momentum", hyper["momentum"], 0, 1),
                       dampening=_check("dampening", hyper["dampening"], 0, 1,
                                        high_open=False),
                       nesterov=_check_flag("nesterov", hyper["nesterov"]),
                       weight_decay=_check("weight_decay", hyper["weight_decay"], 0))
        if checked["nesterov"] and (checked["momentum"] == 0 or checked["dampening"] != 0):
            raise DescentValueError("nesterov needs momentum > 0 and dampening = 0")
        return checked


class AdaGrad(Optimizer):
    """AdaGrad: larger steps for rarely-updated weights."""

    update = staticmethod(adagrad_update)
    elementwise = True
    state_kinds = {"step": "count", "sum": "squares"}

    def __init__(self, params, lr=0.01, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps)

    @staticmethod
    def check_hyper(hyper):
        hyper = _settings(hyper, ("lr", "lr_decay", "weight_decay",
                                  "initial_accumulator_value", "eps"))
        return dict(lr=_check_rate(hyper["lr"]),
                    lr_decay=_check("lr_decay", hyper["lr_decay"], 0),
                    weight_decay=_check("weight_decay", hyper["weight_decay"], 0),
                    initial_accumulator_value=_check("initial_accumulator_value",
                                                     hyper["initial_accumulator_value"], 0),
                    eps=_check("eps", hyper["eps"], 0, low_open=True))


class RMSProp(Optimizer):
    """RMSProp: divide each step by a running root-mean-square of the gradients."""

    update = staticmethod(rmsprop_update)
    elementwise = True
    state_kinds = {"square_avg": "squares", "grad_avg": "array", "momentum_buffer": "array"}

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered)

    @staticmethod
    def check_hyper(hyper):
        hyper = _settings(hyper, ("lr", "alpha", "eps", "weight_decay", "momentum",
                                  "centered"))
        return dict(lr=_check_rate(hyper["lr"]), alpha=_check("alpha", hyper["alpha"], 0, 1),
                    eps=_check("eps", hyper["eps"], 0, low_open=True),
                    weight_decay=_check("weight_decay", hyper["weight_decay"], 0),
                    momentum=_check("momentum", hyper["momentum"], 0, 1),
                    centered=_check_flag("centered", hyper["centered"]))


class Adam(Optimizer):
    """Adam: bias-corrected moving averages of the gradient and its square."""

    update = staticmethod(adam_update)
    elementwise = True
    state_kinds = {"step": "count", "exp_avg": "array", "exp_avg_sq": "squares"}

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         decoupled=False)

    @staticmethod
    def check_hyper(hyper):
        return _adam_hyper(hyper, decoupled=False)


class AdamW(Optimizer):
    """Adam with decoupled weight decay: w ← w(1 − ηλ) before each Adam step."""

    update = staticmethod(adam_update)
    elementwise = True
    state_kinds = Adam.state_kinds

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         decoupled=True)

    @staticmethod
    def check_hyper(hyper):
        return _adam_hyper(hyper, decoupled=True)


def _adam_hyper(hyper, decoupled):
    """Adam's and AdamW's settings, checked; ``decoupled`` tells the two apart."""
    hyper = _settings(hyper, ("lr", "betas", "eps", "weight_decay", "decoupled"))
    betas = hyper["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise DescentValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    if hyper["decoupled"] is not decoupled:
        raise DescentValueError(f"decoupled must be {decoupled} for "
                                f"{'AdamW' if decoupled else 'Adam'}, got "
                                f"{hyper['decoupled']!r}")
    return dict(lr=_check_rate(hyper["lr"]),
                betas=(_check("beta1", betas[0], 0, 1), _check("beta2", betas[1], 0, 1)),
                eps=_check("eps", hyper["eps"], 0, low_open=True),
                weight_decay=_check("weight_decay", hyper["weight_decay"], 0),
                decoupled=decoupled)


class LBFGS(Optimizer):
    """L-BFGS with a fixed step (torch.optim.LBFGS's semantics with ``line_search_fn=None``).

    Each ``step(closure)`` runs up to ``max_iter`` quasi-Newton iterations; ``closure()``
    must zero the gradients, compute the loss, call ``backward()`` and return the loss.
    Meant for full-batch training of small networks.

    Examples
    --------
    >>> import descent
    >>> w = descent.tensor([3.0, -2.0], requires_grad=True, dtype="float64")
    >>> opt = LBFGS([w], lr=1.0)
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 1.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> w.data.round(6)
    array([1., 1.])
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100):
        if max_eval is None:
            max_eval = _check_count("max_iter", max_iter, 1) * 5 // 4
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval,
                         tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                         history_size=history_size)
        self.memory = {"func_evals": 0, "n_iter": 0, "d": None, "t": None, "old_dirs": [],
                       "old_steps": [], "ro": [], "H_diag": 1.0, "prev_flat_grad": None,
                       "prev_loss": None}

    @staticmethod
    def check_hyper(hyper):
        hyper = _settings(hyper, ("lr", "max_iter", "max_eval", "tolerance_grad",
                                  "tolerance_change", "history_size"))
        return dict(lr=_check_rate(hyper["lr"]),
                    max_iter=_check_count("max_iter", hyper["max_iter"], 1),
                    max_eval=_check_count("max_eval", hyper["max_eval"], 1),
                    tolerance_grad=_check("tolerance_grad", hyper["tolerance_grad"], 0),
                    tolerance_change=_check("tolerance_change", hyper["tolerance_change"], 0),
                    history_size=_check_count("history_size", hyper["history_size"], 1))

    def _flat_grad(self):
        return np.concatenate([
            (p.grad if p.grad is not None and p.requires_grad else np.zeros_like(p.data))
            .ravel().astype(np.float64) for p in self.params])

    def _add_to_params(self, t, direction):
        offset = 0
        for p in self.params:
            size = p.data.size
            if p.requires_grad:
                p.data += (t * direction[offset:offset + size]).reshape(p.shape).astype(p.dtype)
            offset += size

    def step(self, closure=None):
        """Run up to ``max_iter`` iterations; returns the loss from the first closure call."""
        if closure is None:
            raise DescentValueError(
                "LBFGS.step needs a closure that zeroes the gradients, computes the loss, "
                "calls backward() and returns the loss"
            )
        h, mem = self.hyper, self.memory
        first_loss = closure()
        loss = float(first_loss.item() if isinstance(first_loss, Tensor) else first_loss)
        evals = 1
        mem["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= h["tolerance_grad"]:
            return first_loss
        d, t = mem["d"], mem["t"]
        iteration = 0
        while iteration < h["max_iter"]:
            iteration += 1
            mem["n_iter"] += 1
            if mem["n_iter"] == 1:
                d = -flat_grad
                mem["old_dirs"], mem["old_steps"], mem["ro"] = [], [], []
                mem["H_diag"] = 1.0
            else:
                y = flat_grad - mem["prev_flat_grad"]
                s = d * t
                ys = y @ s
                if ys > 1e-10:
                    if len(mem["old_dirs"]) == h["history_size"]:
                        for key in ("old_dirs", "old_steps", "ro"):
                            mem[key].pop(0)
                    mem["old_dirs"].append(y)
                    mem["old_steps"].append(s)
                    mem["ro"].append(1.0 / ys)
                    mem["H_diag"] = ys / (y @ y)
                d = self._two_loop(-flat_grad)
            mem["prev_flat_grad"] = flat_grad.copy()
            mem["prev_loss"] = loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * h["lr"] if mem["n_iter"] == 1 \
                else h["lr"]
            if flat_grad @ d > -h["tolerance_change"]:
                break
            self._add_to_params(t, d)
            new_evals = 0
            if iteration != h["max_iter"]:
                result = closure()
                loss = float(result.item() if isinstance(result, Tensor) else result)
                flat_grad = self._flat_grad()
                new_evals = 1
            evals += new_evals
            mem["func_evals"] += new_evals
            if iteration == h["max_iter"] or evals >= h["max_eval"]:
                break
            if np.abs(flat_grad).max() <= h["tolerance_grad"]:
                break
            if np.abs(d * t).max() <= h["tolerance_change"]:
                break
            if abs(loss - mem["prev_loss"]) < h["tolerance_change"]:
                break
        mem["d"], mem["t"] = d, t
        return first_loss

    def _two_loop(self, q):
        """The L-BFGS two-loop recursion: an approximate inverse Hessian times ``q``."""
        mem = self.memory
        alphas = []
        for s, y, ro in zip(reversed(mem["old_steps"]), reversed(mem["old_dirs"]),
                            reversed(mem["ro"])):
            alpha = (s @ q) * ro
            q = q - alpha * y
            alphas.append(alpha)
        r = q * mem["H_diag"]
        for s, y, ro, alpha in zip(mem["old_steps"], mem["old_dirs"], mem["ro"],
                                   reversed(alphas)):
            beta = (y @ r) * ro
            r = r + s * (alpha - beta)
        return r

    def state_dict(self):
        state = super().state_dict()
        state["memory"] = {k: (list(v) if isinstance(v, list) else v)
                           for k, v in self.memory.items()}
        return state

    def checked_state(self, state_dict):
        """As ``Optimizer.checked_state``, and the L-BFGS memory: counts >= 0, float64
        vectors of all the parameters' length with finite values, as many curvature
        pairs as factors ``ro`` and at most ``history_size`` of them, finite numbers."""
        checked = super().checked_state(state_dict)
        memory = state_dict.get("memory")
        if not isinstance(memory, dict) or set(memory) != set(self.memory):
            raise DescentValueError(f"the L-BFGS memory must hold {sorted(self.memory)}")
        size = sum(p.data.size for p in self.params)

        def vector(name, value):
            return _check_array(f"L-BFGS memory {name}", value, (size,), np.float64)

        def optional(check, name, value):
            return None if value is None else check(name, value)

        def number(name, value):
            return _check(f"L-BFGS memory {name}", value)

        pairs = [memory[key] for key in ("old_dirs", "old_steps", "ro")]
        if not all(isinstance(entry, list) for entry in pairs) \
                or len({len(entry) for entry in pairs}) != 1 \
                or len(pairs[0]) > checked["hyper"]["history_size"]:
            raise DescentValueError("the L-BFGS memory must hold as many old_dirs as "
                                    "old_steps and ro, at most history_size of each")
        checked["memory"] = {
            "func_evals": _check_count("L-BFGS memory func_evals", memory["func_evals"]),
            "n_iter": _check_count("L-BFGS memory n_iter", memory["n_iter"]),
            "d": optional(vector, "d", memory["d"]),
            "t": optional(number, "t", memory["t"]),
            "old_dirs": [vector(f"old_dirs[{i}]", v) for i, v in enumerate(memory["old_dirs"])],
            "old_steps": [vector(f"old_steps[{i}]", v)
                          for i, v in enumerate(memory["old_steps"])],
            "ro": [number(f"ro[{i}]", v) for i, v in enumerate(memory["ro"])],
            "H_diag": number("H_diag", memory["H_diag"]),
            "prev_flat_grad": optional(vector, "prev_flat_grad", memory["prev_flat_grad"]),
            "prev_loss": optional(number, "prev_loss", memory["prev_loss"]),
        }
        return checked

    def _take(self, checked):
        super()._take(checked)
        self.memory = {k: (list(v) if isinstance(v, list) else v)
                       for k, v in checked["memory"].items()}

    def max_state_bytes(self):
        """The memory's vectors: two per curvature pair, and ``d`` and ``prev_flat_grad``,
        each of all the parameters' length in float64."""
        size = sum(p.data.size for p in self.params)
        return (2 * self.hyper["history_size"] + 2) * size * np.dtype(np.float64).itemsize


OPTIMIZERS = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSProp, "adam": Adam,
              "adamw": AdamW, "lbfgs": LBFGS}


def get_optimizer(optimizer, params, **settings):
    """An optimiser instance from a name in ``OPTIMIZERS`` (with ``settings``) or as given."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    key = optimizer.lower() if isinstance(optimizer, str) else optimizer
    cls = lookup(OPTIMIZERS, key, "optimizer", " or pass an optimiser instance")
    if cls is SGD:
        settings.setdefault("lr", 0.01)
    return cls(params, **settings)
