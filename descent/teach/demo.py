"""A first demonstration: a 2-4-1 network learns XOR with the autodiff engine alone.

XOR is the function a single perceptron cannot learn (its classes are not linearly
separable); one hidden layer is enough. The demo builds the network from tensors,
runs batch gradient descent on the ½Σ squared error and prints the loss falling.
"""

import numpy as np

from descent.autograd import ops
from descent.autograd.backend import as_rng
from descent.autograd.tensor import no_grad, tensor

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float32)


def train_xor(hidden=4, lr=2.0, epochs=2000, seed=0, report_every=200, out=print):
    """Train a 2-hidden-1 sigmoid network on XOR; return the final outputs.

    Every ``report_every`` epochs the loss E = ½ Σ (t − o)² is printed through ``out``.
    """
    rng = as_rng(seed)
    w1 = tensor(rng.normal(0.0, 1.0, (2, hidden)), requires_grad=True, dtype="float32")
    b1 = tensor(np.zeros(hidden), requires_grad=True, dtype="float32")
    w2 = tensor(rng.normal(0.0, 1.0, (hidden, 1)), requires_grad=True, dtype="float32")
    b2 = tensor(np.zeros(1), requires_grad=True, dtype="float32")
    params = (w1, b1, w2, b2)
    for epoch in range(1, epochs + 1):
        hidden_out = ops.sigmoid(ops.linear(XOR_INPUTS, w1, b1))
        output = ops.sigmoid(ops.linear(hidden_out, w2, b2))
        loss = ((output - XOR_TARGETS) ** 2).sum() * 0.5
        for p in params:
            p.grad = None
        loss.backward()
        with no_grad():
            for p in params:
                # The mean gradient over the four examples, as batch gradient descent uses.
                p.data -= lr * p.grad / len(XOR_INPUTS)
        if epoch == 1 or epoch % report_every == 0:
            out(f"epoch {epoch:5d}   E = {loss.item():.6f}")
    return output.data


def main(out=print):
    """Run the XOR demo and print the learned truth table."""
    out("descent demo: a 2-4-1 sigmoid network learns XOR by batch gradient descent")
    outputs = train_xor(out=out)
    out("")
    out(" x1  x2 | target | output | predicted")
    for x, t, o in zip(XOR_INPUTS, XOR_TARGETS, outputs):
        out(f"  {int(x[0])}   {int(x[1])} |   {int(t[0])}    | {o[0]:.4f} |     {int(o[0] > 0.5)}")
    correct = int(((outputs > 0.5) == (XOR_TARGETS > 0.5)).sum())
    out(f"\n{correct}/4 correct")
    return correct
