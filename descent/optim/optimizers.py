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
"""

import math

import numpy as np

from descent.errors import DescentTypeError, DescentValueError, ShapeError, lookup
from descent.optim.flat import FlatParameters
from descent.autograd.tensor import Tensor


# ----------------------------------------------------------------------------- checks
def _check(name, value, low=None, high=None, low_open=False, high_open=True):
    """Raise a clear error unless ``low (<|<=) value (<|<=) high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating,
                                                         np.integer)) or math.isnan(value):
        raise DescentValueError(f"{name} must be a number, got {value!r}")
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
    return _check("lr", lr, low=0, low_open=True)


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
    """Holds the parameters, their per-parameter state and the hyper-parameters."""

    update = None
    # True when ``update`` works element by element (no norm or sum over a parameter),
    # so that it may run once on all of a small network's parameters (descent.flat).
    elementwise = False

    def __init__(self, params, **hyper):
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
        # A schedule may anneal the rate down to 0; constructors insist on lr > 0.
        self.hyper["lr"] = _check("lr", value, low=0)

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

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` returned; shapes must fit the parameters."""
        states = state_dict["state"]
        if len(states) != len(self.params):
            raise ShapeError(
                f"optimiser state has {len(states)} parameters, this optimiser has "
                f"{len(self.params)}"
            )
        for index, (p, state) in enumerate(zip(self.params, states)):
            for key, value in state.items():
                if isinstance(value, np.ndarray) and value.shape != p.shape:
                    raise ShapeError(
                        f"optimiser state {key!r} of parameter {index} has shape "
                        f"{value.shape}, the parameter has shape {p.shape}"
                    )
        self.hyper = dict(state_dict["hyper"])
        self.state = [{k: (v.copy() if isinstance(v, np.ndarray) else v)
                       for k, v in state.items()} for state in states]

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

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        momentum = _check("momentum", momentum, 0, 1)
        if nesterov and (momentum == 0 or dampening != 0):
            raise DescentValueError("nesterov needs momentum > 0 and dampening = 0")
        super().__init__(params, lr=_check_lr(lr), momentum=momentum,
                         dampening=_check("dampening", dampening, 0, 1, high_open=False),
                         nesterov=bool(nesterov),
                         weight_decay=_check("weight_decay", weight_decay, 0))


class AdaGrad(Optimizer):
    """AdaGrad: larger steps for rarely-updated weights."""

    update = staticmethod(adagrad_update)
    elementwise = True

    def __init__(self, params, lr=0.01, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr=_check_lr(lr), lr_decay=_check("lr_decay", lr_decay, 0),
                         weight_decay=_check("weight_decay", weight_decay, 0),
                         initial_accumulator_value=_check("initial_accumulator_value",
                                                          initial_accumulator_value, 0),
                         eps=_check("eps", eps, 0, low_open=True))


class RMSProp(Optimizer):
    """RMSProp: divide each step by a running root-mean-square of the gradients."""

    update = staticmethod(rmsprop_update)
    elementwise = True

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False):
        super().__init__(params, lr=_check_lr(lr), alpha=_check("alpha", alpha, 0, 1),
                         eps=_check("eps", eps, 0, low_open=True),
                         weight_decay=_check("weight_decay", weight_decay, 0),
                         momentum=_check("momentum", momentum, 0, 1),
                         centered=bool(centered))


class Adam(Optimizer):
    """Adam: bias-corrected moving averages of the gradient and its square."""

    update = staticmethod(adam_update)
    elementwise = True

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, **_adam_hyper(lr, betas, eps, weight_decay), decoupled=False)


class AdamW(Optimizer):
    """Adam with decoupled weight decay: w ← w(1 − ηλ) before each Adam step."""

    update = staticmethod(adam_update)
    elementwise = True

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, **_adam_hyper(lr, betas, eps, weight_decay), decoupled=True)


def _adam_hyper(lr, betas, eps, weight_decay):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise DescentValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return dict(lr=_check_lr(lr),
                betas=(_check("beta1", betas[0], 0, 1), _check("beta2", betas[1], 0, 1)),
                eps=_check("eps", eps, 0, low_open=True),
                weight_decay=_check("weight_decay", weight_decay, 0))


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
        max_iter = int(_check("max_iter", max_iter, 1))
        super().__init__(params, lr=_check_lr(lr), max_iter=max_iter,
                         max_eval=int(max_eval if max_eval is not None else max_iter * 5 // 4),
                         tolerance_grad=_check("tolerance_grad", tolerance_grad, 0),
                         tolerance_change=_check("tolerance_change", tolerance_change, 0),
                         history_size=int(_check("history_size", history_size, 1)))
        self.memory = {"func_evals": 0, "n_iter": 0, "d": None, "t": None, "old_dirs": [],
                       "old_steps": [], "ro": [], "H_diag": 1.0, "prev_flat_grad": None,
                       "prev_loss": None}

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

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.memory = {k: (list(v) if isinstance(v, list) else v)
                       for k, v in state_dict["memory"].items()}


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
