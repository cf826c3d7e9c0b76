"""Helpers shared by the tests: run the same function in descent and PyTorch; check the
LaTeX the reports write."""

import re

import numpy as np
import torch

import descent


def descent_value_and_grads(fn, arrays, upstream_seed=0):
    """Forward value and input gradients of ``fn`` in descent (float64)."""
    leaves = [descent.tensor(a, requires_grad=True, dtype="float64") for a in arrays]
    out = fn(*leaves)
    weights = np.random.default_rng(upstream_seed).uniform(0.5, 1.5, size=out.shape)
    out.backward(weights)
    return out.data, [leaf.grad for leaf in leaves]


def torch_value_and_grads(fn, arrays, upstream_seed=0):
    """Forward value and input gradients of ``fn`` in PyTorch (float64, CPU)."""
    leaves = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
              for a in arrays]
    out = fn(*leaves)
    weights = np.random.default_rng(upstream_seed).uniform(0.5, 1.5, size=tuple(out.shape))
    out.backward(torch.tensor(weights))
    grads = [np.zeros(leaf.shape) if leaf.grad is None else leaf.grad.numpy()
             for leaf in leaves]
    return out.detach().numpy(), grads


def assert_matches_torch(fn, torch_fn, arrays, rtol=1e-10, atol=1e-12):
    value, grads = descent_value_and_grads(fn, arrays)
    torch_value, torch_grads = torch_value_and_grads(torch_fn, arrays)
    np.testing.assert_allclose(value, torch_value, rtol=rtol, atol=atol)
    for ours, theirs in zip(grads, torch_grads):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


# Every command the renderers write, and nothing else.
LATEX_COMMANDS = set("""documentclass usepackage setlength parindent begin end section subsection
noindent textbf hline multicolumn frac partial cdot leftarrow rightarrow left right sigma
eta mu alpha beta varepsilon lambda rho delta Sigma sum sqrt hat bar operatorname tanh exp
ln max text mathrm times textbackslash textasciitilde textasciicircum textsuperscript
textsubscript leq geq surd approx dots title titlepage scriptsize newpage allowdisplaybreaks
Delta gamma theta pi tau omega phi nabla vdots neq infty date""".split())


def check_tex(source):
    """LaTeX as descent's renderers write it: balanced braces and environments, only the
    commands they know (``LATEX_COMMANDS``), and no arrows left as raw characters."""
    body = re.sub(r"\\begin\{verbatim\}.*?\\end\{verbatim\}", "", source, flags=re.S)
    body = re.sub(r"\\[\\&%$#_{}]", "", body)  # escaped characters and line breaks
    depth = 0
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", body):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} closes the wrong environment"
    assert not stack, f"unclosed environments {stack}"
    unknown = set(re.findall(r"\\([A-Za-z]+)", body)) - LATEX_COMMANDS
    assert not unknown, f"commands the renderers should not write: {unknown}"
    assert "→" not in source and "←" not in source and "<-" not in source
