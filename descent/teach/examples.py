"""The lecture notes' worked examples, computed by descent and written out as reports.

``EXAMPLES`` maps each name to a one-line description and a function
``build(steps=1) -> Report``; ``descent explain --example NAME`` prints one.
"""

import numpy as np

from descent.training import diagnostics
from descent import nn
from descent.training.callbacks import Callback
from descent.data.datasets import truth_table
from descent.errors import DescentValueError, lookup
from descent.teach.derive import NOTES_ROUNDING, Rounding
from descent.teach.explain import network_from_spec, trace_report
from descent.autograd.gradcheck import slope
from descent.autograd.graph import to_dot
from descent.teach.minimize import minimize
from descent.teach.perceptron import train_perceptron
from descent.teach.report import Code, Report, Table
from descent.autograd.tensor import no_grad, tensor
from descent.training.loop import train

STUDENT_GRADE = {
    "layers": [3, 2, 1], "activations": ["sigmoid", "sigmoid"],
    # rows are the inputs 1, 2, 3; columns the hidden units 4, 5 (w14 w15 / w24 w25 / ...)
    "weights": [[[0.2, -0.3], [0.4, 0.1], [-0.5, 0.2]], [[-0.3], [-0.2]]],
    "biases": [[-0.4, 0.2], [0.1]], "loss": "sse", "learning_rate": 0.9,
    "input": [1, 0, 1], "target": [1],
}

ECS171 = {
    "layers": [3, 2, 1], "activations": ["sigmoid", "sigmoid"],
    # inputs 1, 2, 3 = N1, N2, N3; hidden units 4, 5 = A, B; output 6 = Z; w0j = biases
    "weights": [[[0.6, 0.9], [0.8, 0.8], [0.6, 0.4]], [[0.9], [0.9]]],
    "biases": [[0.5, 0.7], [0.5]], "loss": "sse", "learning_rate": 0.1,
    "input": [0.4, 0.2, 0.7], "target": [0.8],
}


# How the ECS171 slides round: Z and σ(Z) to 4 decimals, and σ(Z_k)(1 - σ(Z_k)) from σ(Z_k)
# cut to 2 decimals (0.875 -> 0.87, so 0.87 · 0.13).
ECS171_ROUNDING = Rounding({"net_input": 4, "activation": 4, "derivative": 2, "loss": 6,
                            "error": 4, "gradient": 4, "state": 4, "new_value": 5},
                           down=("derivative",))


def _network_example(spec, title, notes, steps, digits, rounding):
    traces = network_from_spec(spec).trace(steps)
    notes = notes(traces) if callable(notes) else notes
    return trace_report(traces, title, notes, digits=digits, rounding=rounding)


def student_grade(steps=1, digits=4, round_as_notes=False):
    return _network_example(STUDENT_GRADE, "Student grade (seeds 000/001): one step of "
                            "backpropagation", [
                                "Inputs 1-3 (assignments, readings, lectures), hidden units "
                                "4-5, output 6; sigmoid units, E = ½(t - o)², lr 0.9. "
                                "The notes print o4 = 0.332, o5 = 0.525, o6 = 0.474, "
                                "e6 = -0.1311, e5 = 0.0065, e4 = 0.0087, new w46 = -0.261, "
                                "w56 = -0.138, b6 = 0.218, w14 = 0.192, w15 = -0.306, "
                                "w34 = -0.508, w35 = 0.194, b4 = -0.408, b5 = 0.194.",
                                "Rounded as the notes round as they go (z and o to 3 "
                                "decimals, error terms and gradients to 4, each from the "
                                "rounded values before it) the derivation prints exactly "
                                "those digits." if round_as_notes else
                                "The notes round as they go (e6 is worked out from "
                                "o6 = 0.474), so their last digit can differ by one from the "
                                "exact values here: e6 = -0.13117 prints as -0.1312. "
                                "--round-as-notes rounds as they do."],
                            steps, digits, NOTES_ROUNDING if round_as_notes else None)


def _ecs171_notes(traces):
    rows = {w["name"]: w for w in traces[0].weights}
    az, bz = rows["w46"]["gradient"], rows["w56"]["gradient"]
    return [
        "Units 1-3 are N1-N3, 4-5 are A and B, 6 is Z; the biases b4, b5, b6 are the "
        "slides' w0A, w0B, w0Z. Z_A = 1.32, Z_B = 1.5, N_A = 0.7892, N_B = 0.8176, "
        "Z_k = 1.9461, N_z = 0.875.",
        f"The slides' Δw = 0.0067 (w_AZ) and 0.0069 (w_BZ) come from rounding "
        f"σ(Z_k)(1 - σ(Z_k)) to 0.87 · 0.13: σ(Z_k) = 0.87502 cut to 0.87. Unrounded, "
        f"0.875 · 0.125 gives ∂E/∂w_AZ = {az:.6f} and ∂E/∂w_BZ = {bz:.6f}; "
        "--round-as-notes repeats the slides' arithmetic.",
        f"A note on the sign: the slides write w_new = w + η·Δw with Δw = ∂E/∂w, which "
        f"climbs the error (w_AZ: 0.9 -> 0.90067). Gradient descent steps against the "
        f"gradient: w_AZ = 0.9 - 0.1 · {az:.6f} = {0.9 - 0.1 * az:.5f}, and the error goes "
        "down."]


def ecs171(steps=1, digits=4, round_as_notes=False):
    return _network_example(ECS171, "ECS171 (seed 004): updating w_AZ", _ecs171_notes, steps,
                            digits, ECS171_ROUNDING if round_as_notes else None)


def _quadratic(x):
    return 2 - 3 * x + 4 * x ** 2


def quadratic(steps=1):
    report = Report("f(x) = 2 - 3x + 4x^2: slopes and a gradient step (seed 000)",
                    data={"points": []})
    report.add("Finite-difference slope (f(x + h) - f(x)) / h approaches f'(x) = -3 + 8x.")
    for x0 in (2.0, -1.0):
        rows = [[h, f"{_quadratic(x0 + h):.10g}", f"{slope(_quadratic, x0, h):.6g}"]
                for h in (0.01, 0.001, 0.0001)]
        path = minimize(_quadratic, x0, lr=0.01, steps=steps).path
        report.add(Table(["h", "f(x + h)", "slope"], rows,
                         caption=f"x = {x0:g}, f(x) = {_quadratic(x0):g}, f'(x) = "
                                 f"{-3 + 8 * x0:g}"))
        report.add(Table(["step", "x", "f(x)", "df/dx"],
                         [[p["step"], f"{p['x'][0]:.6g}", f"{p['value']:.6g}",
                           f"{p['gradient'][0]:.6g}"] for p in path],
                         caption=f"Gradient descent from x = {x0:g} with learning rate 0.01"))
        report.data["points"].append({"x": x0, "slopes": [[r[0], float(r[2])] for r in rows],
                                      "path": path})
    return report


def abc(steps=1):
    result = minimize(lambda a, b, c: a + b * c, [1.0, -2.0, 3.0], lr=0.01, steps=steps)
    report = Report("f(a, b, c) = a + bc at (1, -2, 3) (seed 000)", data={"path": result.path})
    report.add("df/da = 1, df/db = c, df/dc = b: the gradient at (1, -2, 3) is (1, 3, -2).")
    report.add(Table(["step", "a", "b", "c", "f", "df/da", "df/db", "df/dc"],
                     [[p["step"], *(f"{v:.4g}" for v in p["x"]), f"{p['value']:.4g}",
                       *(f"{v:.4g}" for v in p["gradient"])] for p in result.path],
                     caption="Gradient descent with learning rate 0.01"))
    return report


def graph(steps=1):
    b, c, d = (tensor(v, requires_grad=True, name=n, dtype="float64")
               for v, n in ((2.0, "b"), (3.0, "c"), (4.0, "d")))
    z = (b + c).retain_grad()
    f = d * z
    f.backward()
    report = Report("Computational graph of f = d(b + c) (seed 000)",
                    data={"z": z.item(), "f": f.item(), "df/dz": float(z.grad),
                          "df/db": float(b.grad), "df/dc": float(c.grad),
                          "df/dd": float(d.grad), "dot": to_dot(f)})
    report.add("Forward pass: z = b + c = 5, f = d z = 20. Backward pass: multiplication "
               "passes the other value through, addition passes the incoming gradient on.")
    report.add(Table(["quantity", "value"], [
        ["z = b + c", f"{z.item():g}"], ["f = d z", f"{f.item():g}"],
        ["df/dz = d", f"{float(z.grad):g}"], ["df/dd = z", f"{float(d.grad):g}"],
        ["df/db = df/dz * dz/db", f"{float(b.grad):g}"],
        ["df/dc = df/dz * dz/dc", f"{float(c.grad):g}"]]))
    report.add("The graph in Graphviz's DOT language (descent.draw(f) draws it without "
               "Graphviz):", Code(to_dot(f), "dot"))
    return report


def perceptron(steps=1):
    rows, data = [], {}
    for gate in ("and", "or", "not", "xor"):
        result = train_perceptron(*truth_table(gate), max_epochs=100)
        rows.append([gate.upper(), "yes" if result.converged else "no", result.epochs,
                     np.array2string(result.weights, precision=3), f"{result.bias:.3g}"])
        data[gate] = {"converged": result.converged, "epochs": result.epochs,
                      "errors": result.errors, "weights": result.weights.tolist(),
                      "bias": result.bias, "message": result.message}
    report = Report("Perceptrons learn AND, OR and NOT, not XOR (seed 002)", data=data)
    report.add("A step unit o = step(w.x + b), trained with w <- w + lr (t - o) x.")
    report.add(Table(["gate", "learned", "epochs", "weights", "bias"], rows))
    report.add(data["xor"]["message"])
    return report


def xor(steps=1):
    X, y = truth_table("xor")
    model = nn.MLP([2, 2, 1], activation="sigmoid", output="sigmoid", rng=3)
    history = train(model, X, y, loss="binary_cross_entropy", optimizer="sgd", lr=2.0,
                    epochs=3000, seed=0, progress=False)
    with no_grad():
        hidden = model[1](model[0](X)).data
        output = model(X).data[:, 0]
    report = Report("An MLP learns XOR (seed 002)",
                    data={"hidden": hidden.tolist(), "output": output.tolist(),
                          "loss": history["loss"]})
    report.add("2-2-1 sigmoid network, batch gradient descent (lr 2, 3000 epochs). A "
               "single unit cannot separate XOR; each hidden unit learns one line.")
    report.add(Table(["x1", "x2", "h1", "h2", "output", "target"],
                     [[int(a), int(b), f"{h[0]:.3f}", f"{h[1]:.3f}", f"{o:.3f}", int(t)]
                      for (a, b), h, o, t in zip(X, hidden, output, y)]))
    learned = [_BOOLEAN_FUNCTIONS[tuple(int(v > 0.5) for v in column)] for column in hidden.T]
    report.data["hidden_functions"] = learned
    report.add(f"Read as logic gates (threshold 0.5): h1 = {learned[0]}, h2 = {learned[1]}. "
               "Neither is XOR, but on (h1, h2) the four inputs become linearly separable, "
               "so the output unit can draw the one line XOR needs.")
    return report


# The 16 functions of two bits, by their outputs on (0,0), (0,1), (1,0), (1,1).
_BOOLEAN_FUNCTIONS = {
    (0, 0, 0, 0): "FALSE", (0, 0, 0, 1): "x1 AND x2", (0, 0, 1, 0): "x1 AND NOT x2",
    (0, 0, 1, 1): "x1", (0, 1, 0, 0): "NOT x1 AND x2", (0, 1, 0, 1): "x2",
    (0, 1, 1, 0): "x1 XOR x2", (0, 1, 1, 1): "x1 OR x2", (1, 0, 0, 0): "NOR",
    (1, 0, 0, 1): "XNOR", (1, 0, 1, 0): "NOT x2", (1, 0, 1, 1): "x1 OR NOT x2",
    (1, 1, 0, 0): "NOT x1", (1, 1, 0, 1): "NOT x1 OR x2", (1, 1, 1, 0): "NAND",
    (1, 1, 1, 1): "TRUE",
}


def currency(steps=1):
    dollars = np.array([[10.0], [25.0], [40.0], [5.0]])
    shekels = dollars[:, 0] * 3.7
    model = nn.Linear(1, 1, bias=False, init="zeros", dtype="float64")
    guesses = []

    class Record(Callback):
        def on_train_begin(self, history):
            guesses.append(float(model.weight.data[0, 0]))

        def on_epoch_end(self, record):
            guesses.append(float(model.weight.data[0, 0]))

    history = train(model, dollars / 10, shekels, loss="mse", optimizer="sgd", lr=0.05,
                    epochs=25, callbacks=[Record()], progress=False)
    constant = guesses[-1] / 10
    report = Report("Dollars to shekels: learning one constant (seed 000)",
                    data={"constant": constant, "guesses": [g / 10 for g in guesses],
                          "loss": history["loss"]})
    report.add("shekels = dollars x constant. Guess, measure the error, adjust the guess "
               "against the gradient, repeat (inputs scaled by 1/10 for a stable step).")
    report.add(Table(["epoch", "constant", "mean squared error"],
                     [[i, f"{g / 10:.5f}", f"{loss:.5g}"]
                      for i, (g, loss) in enumerate(zip(guesses, history["loss"]))
                      if i < 6 or i % 5 == 0]))
    report.add(f"Learned constant: {constant:.4f} (true 3.7).")
    return report


def vanishing_gradient(steps=1):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 10)), rng.normal(size=(64, 1))
    flows = {act: diagnostics.gradient_flow(nn.MLP([10] + [32] * 10 + [1], activation=act,
                                                   rng=0), X, y)
             for act in ("sigmoid", "relu")}
    report = Report("Vanishing gradients in a deep network (seeds 003/004)",
                    data={act: {"layers": f.layers, "norms": f.norms, "ratio": f.ratio}
                          for act, f in flows.items()})
    report.add("Ten hidden layers of 32 units. Each sigmoid layer multiplies the gradient "
               "by sigma'(z) <= 1/4 on its way down, so the first layers learn slowly.")
    report.add(Table(["layer", "sigmoid: gradient norm", "relu: gradient norm"],
                     [[name, f"{s:.3e}", f"{r:.3e}"] for name, s, r in
                      zip(flows["sigmoid"].layers, flows["sigmoid"].norms,
                          flows["relu"].norms)]))
    report.add(f"first / last layer: sigmoid {flows['sigmoid'].ratio:.1e}, "
               f"relu {flows['relu'].ratio:.1e}")
    return report


def dying_relu(steps=1):
    # 256 points: the dead fraction the loop records each epoch is then over all of them
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 2))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2  # curved: it takes many live units
    units, baseline = 32, float(np.var(y))  # the mse of predicting the mean everywhere
    rows, data = [], {}
    for lr in (0.005, 0.5):
        model = nn.MLP([2, units, 1], activation="relu", rng=1)  # the same start for both
        start = diagnostics.dead_units(model, X)[1]
        history = train(model, X, y, loss="mse", optimizer="adam", lr=lr, batch_size=16,
                        epochs=30, seed=0, progress=False)
        after_one, end = history["dead_fraction"][0], diagnostics.dead_units(model, X)[1]
        rows.append([f"{lr:g}", f"{start:.0%}", f"{after_one:.0%}", f"{end:.0%}",
                     f"{history.last['loss']:.3f}"])
        data[str(lr)] = {"dead_at_start": start, "dead_fraction": history["dead_fraction"],
                         "dead_at_end": end, "loss": history["loss"]}
    small, large = data["0.005"], data["0.5"]
    report = Report("Dying ReLUs (seed 001)", data={**data, "units": units,
                                                    "mean_baseline": baseline})
    report.add("A ReLU unit whose input is negative for every example outputs 0 and its "
               "gradient is 0: it can never recover. A large learning rate pushes many "
               "units there at once.")
    report.add(f"The same 2-{units}-1 ReLU network, from the same initial weights, learns "
               "y = sin(2 x1) + x2^2 / 2 from 256 points with Adam (batches of 16, 30 "
               "epochs) at two learning rates. A unit is dead when it outputs 0 for all 256 "
               "points.")
    report.add(Table(["learning rate", "dead at the start", "dead after epoch 1",
                      "dead at the end", "final loss"], rows))

    def share(fraction):
        return f"{fraction:.0%} ({round(fraction * units)} of {units})"

    ratio = large["loss"][-1] / small["loss"][-1]
    report.add(f"At learning rate 0.005, {share(small['dead_at_end'])} of the units are dead "
               f"at the end and the final loss is {small['loss'][-1]:.3f}. At 0.5, "
               f"{share(large['dead_fraction'][0])} are dead after the first epoch and "
               f"{share(large['dead_at_end'])} at the end; its final loss, "
               f"{large['loss'][-1]:.3f}, is {ratio:.1f} times as high, next to "
               f"{baseline:.3f} for predicting the mean of y everywhere: with so few live "
               "units left, the network can no longer fit the curve.")
    return report


def param_count(steps=1):
    model = nn.MLP([2, 1024, 512, 3], activation="sigmoid", output="softmax", rng=0)
    total = nn.count_parameters(model)
    report = Report("Counting parameters: 2 -> 1024 -> 512 -> 3 (seed 002 quiz)",
                    data={"total": total})
    report.add("Each dense layer has in x out weights and out biases:")
    report.add(Table(["layer", "weights", "biases", "total"], [
        ["2 -> 1024", "1024 * 2 = 2048", "1024", "3072"],
        ["1024 -> 512", "512 * 1024 = 524288", "512", "524800"],
        ["512 -> 3", "512 * 3 = 1536", "3", "1539"]]))
    report.add(f"1024*2 + 1024 + 512*1024 + 512 + 512*3 + 3 = {total:,} "
               "(counted by descent.nn.count_parameters).")
    report.add(Code(str(nn.summary(model))))
    return report


EXAMPLES = {
    "student-grade": ("one backpropagation step of the 3-2-1 student-grade network",
                      student_grade),
    "ecs171": ("the ECS171 slides' update of w_AZ, with a note on their sign", ecs171),
    "quadratic": ("finite-difference slopes and a gradient step on 2 - 3x + 4x^2", quadratic),
    "abc": ("gradient of f = a + bc at (1, -2, 3) and one step", abc),
    "graph": ("forward and backward pass through d(b + c), with the DOT graph", graph),
    "perceptron": ("the perceptron rule learns AND, OR, NOT but not XOR", perceptron),
    "xor": ("an MLP learns XOR; what its hidden units learned", xor),
    "currency": ("learn the dollar-to-shekel constant by gradient descent", currency),
    "vanishing-gradient": ("per-layer gradient norms, deep sigmoid vs ReLU network",
                           vanishing_gradient),
    "dying-relu": ("how many ReLU units die at a small and a large learning rate",
                   dying_relu),
    "param-count": ("the 529,411 parameters of the 2-1024-512-3 quiz network", param_count),
}


# The examples that trace a network, and so take ``digits`` and ``round_as_notes``.
TRACED = ("student-grade", "ecs171")


def build_example(name, steps=1, digits=4, round_as_notes=False):
    """The report of a built-in example; the error lists the valid names.

    ``digits`` and ``round_as_notes`` (round as the notes do, so that the derivation
    prints the notes' digits) apply to the examples that trace a network (``TRACED``).
    """
    _, build = lookup(EXAMPLES, name, "example")
    if name in TRACED:
        return build(steps=steps, digits=digits, round_as_notes=round_as_notes)
    if digits != 4 or round_as_notes:
        raise DescentValueError(f"--digits and --round-as-notes apply to the examples that "
                                f"trace a network ({', '.join(TRACED)}), not {name!r}")
    return build(steps=steps)
