"""L-BFGS-B from SciPy on descent's parameters: the full-batch quasi-Newton method with
SciPy's line search, bounds on iterations and function evaluations, and its convergence
report (needs SciPy, which comes with scikit-learn).

descent's own ``LBFGS`` takes fixed-length steps inside the training loop; this hands the
whole optimisation to ``scipy.optimize.minimize(method="L-BFGS-B")``, as scikit-learn's
MLP does for ``solver="lbfgs"``.
"""

import numpy as np

from descent.errors import DescentError


def minimize_lbfgs_b(params, closure, *, max_iter=15000, max_fun=15000, gtol=1e-5):
    """Minimise ``closure()`` over ``params`` with SciPy's L-BFGS-B; the parameters end at
    the minimiser SciPy returns.

    Parameters
    ----------
    params : iterable of Parameter
        The parameters to optimise (those with ``requires_grad=False`` stay as they are).
    closure : callable
        Computes the loss from the parameters' current values and returns it as a scalar
        tensor (with its graph: this function calls ``backward()``).
    max_iter, max_fun : int
        SciPy's ``maxiter`` and ``maxfun``: the most iterations and loss evaluations.
    gtol : float
        Stop when every component of the projected gradient is at most this.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``nit`` iterations, ``nfev`` evaluations, ``fun`` the final loss, ``status`` 0 when
        it converged (1: a limit was reached, 2: the line search failed), ``message``.

    Examples
    --------
    >>> import descent
    >>> w = descent.nn.Parameter(descent.tensor([3.0, -2.0], dtype="float64"))
    >>> result = minimize_lbfgs_b([w], lambda: ((w - 1.0) ** 2).sum())
    >>> w.data.round(6).tolist(), result.status
    ([1.0, 1.0], 0)
    """
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise DescentError("L-BFGS-B needs SciPy: pip install scipy") from None
    params = [p for p in params if p.requires_grad]
    ends = np.cumsum([p.data.size for p in params])[:-1]

    def set_values(x):
        for p, values in zip(params, np.split(x, ends)):
            np.copyto(p.data, values.reshape(p.data.shape), casting="unsafe")

    def loss_and_gradient(x):
        set_values(x)
        for p in params:
            p.grad = None
        loss = closure()
        loss.backward()
        gradient = np.concatenate([np.zeros(p.data.size) if p.grad is None
                                   else p.grad.reshape(-1) for p in params])
        return float(loss.item()), gradient.astype(np.float64)

    start = np.concatenate([p.data.reshape(-1) for p in params]).astype(np.float64)
    result = minimize(loss_and_gradient, start, method="L-BFGS-B", jac=True,
                      options={"maxiter": int(max_iter), "maxfun": int(max_fun),
                               "gtol": float(gtol)})
    set_values(result.x)
    return result
