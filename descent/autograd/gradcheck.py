"""Finite differences: the slope of the lecture notes and a full gradient check.

``slope`` is the notes' rise-over-run, (f(x + h) − f(x)) / h. ``gradcheck`` compares
every gradient that ``backward()`` computes with central differences
(f(x + h) − f(x − h)) / 2h in float64 and reports the worst mismatch.
"""

from dataclasses import dataclass
from html import escape

import numpy as np

from descent.errors import DescentValueError, GradientError
from descent.autograd.tensor import Tensor, tensor


def slope(f, x, h, method="forward"):
    """The finite-difference slope of a function of one number at ``x``.

    Parameters
    ----------
    f : callable
        A function of one float returning a float (plain Python or tensors).
    x, h : float
        The point and the step.
    method : {"forward", "central"}
        ``forward`` is the notes' (f(x+h) − f(x)) / h; ``central`` is
        (f(x+h) − f(x−h)) / 2h, exact for quadratics.

    Examples
    --------
    >>> f = lambda x: 2 - 3 * x + 4 * x ** 2
    >>> round(slope(f, 2.0, 0.01), 6)
    13.04
    """
    if h == 0:
        raise DescentValueError("h must be non-zero")
    if method == "forward":
        return (float(f(x + h)) - float(f(x))) / h
    if method == "central":
        return (float(f(x + h)) - float(f(x - h))) / (2 * h)
    raise DescentValueError(f"method must be 'forward' or 'central', got {method!r}")


@dataclass
class GradcheckReport:
    """What ``gradcheck`` found: pass/fail and where analytic and numeric differ most.

    ``str(report)`` says it in one sentence; Jupyter shows it as a table.
    """

    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst_input: int
    worst_index: tuple
    analytic: float
    numeric: float
    atol: float
    rtol: float

    def __bool__(self):
        return self.ok

    def __str__(self):
        verdict = "passed" if self.ok else "FAILED"
        return (
            f"gradcheck {verdict}: worst mismatch at input {self.worst_input}, index "
            f"{self.worst_index}: analytic {self.analytic:.10g} vs numeric "
            f"{self.numeric:.10g} (abs error {self.max_abs_error:.3g}, rel error "
            f"{self.max_rel_error:.3g}; tolerance atol={self.atol:g}, rtol={self.rtol:g})"
        )

    def _rows(self):
        """(what, value) pairs shown by the rich displays in Jupyter."""
        return [("worst mismatch", f"input {self.worst_input}, index {self.worst_index}"),
                ("analytic (backward)", f"{self.analytic:.10g}"),
                ("numeric (central differences)", f"{self.numeric:.10g}"),
                ("abs error", f"{self.max_abs_error:.3g}"),
                ("rel error", f"{self.max_rel_error:.3g}"),
                ("tolerance", f"atol={self.atol:g}, rtol={self.rtol:g}")]

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def _repr_html_(self):
        verdict = "passed" if self.ok else "FAILED"
        colour = "green" if self.ok else "red"
        rows = "".join(f"<tr><th style=\"text-align:left\">{escape(what)}</th>"
                       f"<td>{escape(value)}</td></tr>" for what, value in self._rows())
        return (f'<table><caption style="color:{colour}">gradcheck {verdict}</caption>'
                f"<tbody>{rows}</tbody></table>")

    def _repr_markdown_(self):
        verdict = "passed" if self.ok else "FAILED"
        lines = [f"**gradcheck {verdict}**", "", "| quantity | value |", "|---|---|"]
        lines += [f"| {what} | {value} |" for what, value in self._rows()]
        return "\n".join(lines)


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0, raise_on_failure=False):
    """Check ``fn``'s backward pass against central differences, in float64.

    Every input is copied to a float64 leaf with ``requires_grad=True``. A tensor output
    is reduced to a scalar with fixed random weights, so every output element is checked.

    Parameters
    ----------
    fn : callable
        ``fn(*tensors) -> Tensor``.
    *inputs : array_like or Tensor
        The point at which to check.
    eps : float
        The finite-difference step.
    atol, rtol : float
        An element passes when ``|analytic − numeric| <= atol + rtol·|numeric|``.
    raise_on_failure : bool
        Raise ``GradientError`` with the report instead of returning a failed one.

    Returns
    -------
    GradcheckReport
        Truthy when the check passed; ``str(report)`` explains the worst mismatch.

    Examples
    --------
    >>> import descent
    >>> report = descent.gradcheck(lambda a, b: a * b + a.exp(), [1.0, 2.0], [3.0, -1.0])
    >>> report.ok
    True
    """
    arrays = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
              for x in inputs]
    if not arrays:
        raise DescentValueError("gradcheck needs at least one input")
    leaves = [tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise DescentValueError("gradcheck: fn must return a Tensor")
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)

    def objective(values):
        with_values = [tensor(v, dtype=np.float64) for v in values]
        return float((fn(*with_values).data * weights).sum())

    (out * weights).sum().backward()
    worst = None
    for i, (leaf, base) in enumerate(zip(leaves, arrays)):
        analytic = leaf.grad if leaf.grad is not None else np.zeros_like(base)
        for index in np.ndindex(base.shape):
            values = [a.copy() for a in arrays]
            values[i][index] = base[index] + eps
            up = objective(values)
            values[i][index] = base[index] - eps
            down = objective(values)
            numeric = (up - down) / (2 * eps)
            abs_error = abs(analytic[index] - numeric)
            excess = abs_error - (atol + rtol * abs(numeric))
            if worst is None or excess > worst[0]:
                rel_error = abs_error / max(abs(numeric), 1e-12)
                worst = (excess, abs_error, rel_error, i, index, float(analytic[index]),
                         numeric)
    if worst is None:
        return GradcheckReport(True, 0.0, 0.0, 0, (), 0.0, 0.0, atol, rtol)
    excess, abs_error, rel_error, i, index, analytic_value, numeric = worst
    report = GradcheckReport(bool(excess <= 0), abs_error, rel_error, i, index,
                             analytic_value, numeric, atol, rtol)
    if raise_on_failure and not report.ok:
        raise GradientError(str(report))
    return report
