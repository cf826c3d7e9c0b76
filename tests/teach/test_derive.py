"""The derivations: the notes' arithmetic (descent.teach.derive) against the engine's
numbers (explain), and the notes' printed digits with their rounding."""

import numpy as np
import pytest

import descent

from descent.teach.derive import NOTES_ROUNDING, derivation
from descent.teach.examples import ECS171, ECS171_ROUNDING, STUDENT_GRADE, build_example
from descent.teach.explain import explain, network_from_spec, trace_report

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "identity", "step"]
OUTPUTS = [("sigmoid", "sse", [0.8, 0.1]), ("identity", "mse", [0.5, -1.0]),
           ("sigmoid", "bce", [1.0, 0.0]), ("identity", "binary_cross_entropy_with_logits",
                                            [1.0, 0.0]),
           ("softmax", "cross_entropy", [1]), ("identity", "cross_entropy", [0]),
           ("softmax", "sse", [0.0, 1.0]), ("tanh", "mae", [0.3, -0.2]),
           ("identity", "poisson", [2.0, 0.0]), ("softmax", "nll", [1])]
OPTIMIZERS = [("sgd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.8,
                                                               "nesterov": True}),
              ("sgd", {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1}),
              ("adagrad", {"lr_decay": 0.1}), ("rmsprop", {}),
              ("rmsprop", {"centered": True, "momentum": 0.5}), ("adam", {}),
              ("adam", {"weight_decay": 0.05}), ("adamw", {"weight_decay": 0.1})]


def _spec(hidden, output, loss, target, batch):
    rng = np.random.default_rng(len(hidden) + 3 * len(loss))
    inputs = rng.normal(size=(3, 3)).round(2).tolist()
    spec = {"layers": [3, 3, 2], "activations": [hidden, output],
            "weights": [rng.normal(size=(3, 3)).round(2).tolist(),
                        rng.normal(size=(3, 2)).round(2).tolist()],
            "biases": [rng.normal(size=3).round(2).tolist(), rng.normal(size=2).round(2).tolist()],
            "loss": loss, "learning_rate": 0.3, "input": inputs[0], "target": target}
    if batch:
        spec["input"] = inputs
        spec["target"] = [target] * 3
    return spec


def _check(traces, values):
    """Every number of the by-hand derivation equals the engine's."""
    for trace, hand in zip(traces, values):
        for example, worked in zip(trace.examples, hand["examples"]):
            for unit in example["units"]:
                j = unit["unit"]
                assert worked["o"][j] == pytest.approx(unit["activation"], rel=1e-9, abs=1e-12)
                if unit["layer"]:
                    assert worked["z"][j] == pytest.approx(unit["net_input"], rel=1e-9,
                                                           abs=1e-12)
                    assert worked["e"][j] == pytest.approx(unit["error"], rel=1e-9, abs=1e-12)
            assert worked["E"] == pytest.approx(example["loss"], rel=1e-9, abs=1e-12)
        for row in trace.weights:
            assert hand["gradient"][row["name"]] == pytest.approx(row["gradient"], rel=1e-9,
                                                                  abs=1e-12), row["name"]
            assert hand["new_value"][row["name"]] == pytest.approx(row["new_value"], rel=1e-9,
                                                                   abs=1e-12), row["name"]


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output, loss, target", OUTPUTS)
@pytest.mark.parametrize("batch", [False, True])
def test_the_derivation_reaches_the_engines_numbers(hidden, output, loss, target, batch):
    spec = _spec(hidden, output, loss, target, batch)
    model, x, t, loss_name, lr, frozen, _ = network_from_spec(spec)
    traces = explain(model, x, t, loss_name, lr, steps=2)
    _check(traces, derivation(traces, from_engine=False)[1])


@pytest.mark.parametrize("name, options", OPTIMIZERS)
@pytest.mark.parametrize("batch", [False, True])
def test_every_optimiser_is_written_out_to_the_engines_numbers(name, options, batch):
    spec = _spec("tanh", "sigmoid", "sse", [0.8, 0.1], batch)
    model, x, t, loss_name, lr, frozen, _ = network_from_spec(spec)
    traces = explain(model, x, t, loss_name, 0.05, steps=3, optimizer=name,
                     optimizer_options=options)
    blocks, values = derivation(traces, from_engine=False)
    _check(traces, values)
    for trace, hand in zip(traces, values):
        for row in trace.weights:
            for key, value in row["state_after"].items():
                if key != "step":
                    assert hand["state"][row["name"]][key] == pytest.approx(
                        value, rel=1e-9, abs=1e-12)


def _lines(report):
    return report.render("text").splitlines()


def _line(report, start):
    matches = [line.strip() for line in _lines(report) if line.strip().startswith(start)]
    assert matches, f"no line starts with {start!r}"
    return matches[0]


def test_student_grade_rounded_as_the_notes_prints_their_digits():
    report = build_example("student-grade", round_as_notes=True)
    # seeds 000/001, "Example: Step 1 - Forward Pass" to "Step 4 - Update Weights"
    assert _line(report, "z4 =").endswith("= (1 · 0.2 + 0 · 0.4 + 1 · -0.5) - 0.4 = -0.7")
    assert _line(report, "o4 =").endswith("= 0.332")
    assert _line(report, "o5 =").endswith("= 0.525")
    assert _line(report, "z6 =").endswith("= (0.332 · -0.3 + 0.525 · -0.2) + 0.1 = -0.105")
    assert _line(report, "o6 =").endswith("= 0.474")
    assert _line(report, "e6 =").endswith("= -(1 - 0.474) · 0.526 · 0.474 = -0.1311")
    assert _line(report, "e5 =") == \
        "e5 = e6 · w56 · (1 - o5) · o5 = -0.1311 · -0.2 · 0.475 · 0.525 = 0.0065"
    assert _line(report, "e4 =").endswith("= -0.1311 · -0.3 · 0.668 · 0.332 = 0.0087")
    assert _line(report, "∂E/∂w46 =").endswith("= -0.1311 · 0.332 = -0.0435")
    assert _line(report, "∂E/∂w56 =").endswith("= -0.1311 · 0.525 = -0.0688")
    assert _line(report, "∂E/∂b6 =") == "∂E/∂b6 = e6 = -0.1311"
    printed = {"w46": "-0.3 - 0.9 · -0.0435 = -0.261", "w56": "-0.2 - 0.9 · -0.0688 = -0.138",
               "b6": "0.1 - 0.9 · -0.1311 = 0.218", "w14": "0.2 - 0.9 · 0.0087 = 0.192",
               "w15": "-0.3 - 0.9 · 0.0065 = -0.306", "w24": "0.4 - 0.9 · 0 = 0.4",
               "w25": "0.1 - 0.9 · 0 = 0.1", "w34": "-0.5 - 0.9 · 0.0087 = -0.508",
               "w35": "0.2 - 0.9 · 0.0065 = 0.194", "b5": "0.2 - 0.9 · 0.0065 = 0.194",
               "b4": "-0.4 - 0.9 · 0.0087 = -0.408"}
    for name, arithmetic in printed.items():
        assert _line(report, f"{name} ←").endswith(arithmetic)


def test_student_grade_exact_keeps_every_digit_the_engine_has():
    report = build_example("student-grade")
    # exact: o6 = σ(-0.104539) = 0.473889, e6 = -(1 - 0.473889)² · 0.473889 = -0.131169
    assert _line(report, "e6 =").endswith("= -0.1312")
    assert _line(report, "w46 ←").endswith("= -0.3 - 0.9 · -0.0435 = -0.2608")
    six = build_example("student-grade", digits=6)
    assert _line(six, "e6 =").endswith("= -(1 - 0.473889) · 0.526111 · 0.473889 = -0.131169")


def test_ecs171_rounded_as_the_slides_reaches_their_0_0067_and_0_0069():
    report = build_example("ecs171", round_as_notes=True)
    text = report.render("text")
    # slide "Backward pass: Updating W_AZ": Δw = 0.075 · σ(Z_k)(1 - σ(Z_k)) · 0.7892 with
    # σ(Z_k)(1 - σ(Z_k)) written 0.87 · 0.13 (0.875 cut to two decimals)
    assert _line(report, "z6 =").endswith("= (0.7892 · 0.9 + 0.8176 · 0.9) + 0.5 = 1.9461")
    assert _line(report, "e6 =").endswith("= -(0.8 - 0.875) · 0.13 · 0.87 = 0.0085")
    assert _line(report, "∂E/∂w46 =").endswith("= 0.0085 · 0.7892 = 0.0067")
    assert _line(report, "∂E/∂w56 =").endswith("= 0.0085 · 0.8176 = 0.0069")
    assert "0.87 · 0.13" in text and "0.006475" in text
    exact = build_example("ecs171")
    assert _line(exact, "∂E/∂w46 =").endswith("= 0.0065")


def test_the_loss_is_shown_with_enough_digits_to_see_it_fall():
    line = _line(build_example("ecs171"), "Step 1: loss E before")
    before, after = (float(part.split("=")[1].split(",")[0]) for part in
                     line.split("before")[1].split("after"))
    assert after < before


def test_a_batch_step_shows_each_examples_gradient_and_their_mean():
    # 2-1 sigmoid unit, w = (0.5, -0.5), b = 0, SSE, two examples, lr 1:
    # x = (1, 0), t = 1: z = 0.5, o = 0.622459, e = -(1 - o)·(1 - o)·o = -0.088723
    # x = (0, 1), t = 0: z = -0.5, o = 0.377541, e = o·(1 - o)·o = 0.088723
    # ∂E/∂w13 = (1/2)(-0.088723·1 + 0.088723·0) = -0.044362; w13 ← 0.5 + 0.044362 = 0.544362
    spec = {"layers": [2, 1], "activations": ["sigmoid"], "weights": [[[0.5], [-0.5]]],
            "biases": [[0.0]], "loss": "sse", "learning_rate": 1.0,
            "input": [[1, 0], [0, 1]], "target": [[1], [0]]}
    model, x, t, loss, lr, _, _ = network_from_spec(spec)
    traces = explain(model, x, t, loss, lr)
    rows = {w["name"]: w for w in traces[0].weights}
    assert rows["w13"]["per_example"] == pytest.approx([-0.088723, 0.0], abs=1e-6)
    assert rows["w13"]["gradient"] == pytest.approx(-0.044362, abs=1e-6)
    assert rows["w13"]["new_value"] == pytest.approx(0.544362, abs=1e-6)
    assert rows["b3"]["gradient"] == pytest.approx(0.0, abs=1e-12)  # the two e cancel
    report = trace_report(traces, digits=6)
    assert _line(report, "∂E/∂w13 = 1/2 Σ_n ∂E_n/∂w13").endswith(
        "= 1/2(-0.088723 + 0) = -0.044362")
    assert "example 2" in report.render("text")


def test_an_adam_step_written_out_with_its_moments_and_bias_corrections():
    # one sigmoid unit, w = 0.5, b = 0, x = 1, t = 1, SSE: o = σ(0.5) = 0.622459,
    # g = ∂E/∂w = -(1 - o)(1 - o)o = -0.088723
    # m = 0.9·0 + 0.1·g = -0.0088723, v = 0.999·0 + 0.001·g² = 7.8718e-06
    # m̂ = m / (1 - 0.9) = -0.088723, v̂ = v / (1 - 0.999) = 0.0078718 (= g²)
    # w ← 0.5 - 0.1 · m̂ / (√v̂ + 1e-8) = 0.5 + 0.1 · 1 = 0.6 (Adam's first step is ±η)
    spec = {"layers": [1, 1], "activations": ["sigmoid"], "weights": [[[0.5]]],
            "biases": [[0.0]], "loss": "sse", "learning_rate": 0.1, "input": [1],
            "target": [1]}
    model, x, t, loss, lr, _, _ = network_from_spec(spec)
    traces = explain(model, x, t, loss, lr, optimizer="adam")
    w = {row["name"]: row for row in traces[0].weights}["w12"]
    assert w["state_after"]["exp_avg"] == pytest.approx(-0.0088723, rel=1e-4)
    assert w["state_after"]["exp_avg_sq"] == pytest.approx(7.8718e-06, rel=1e-4)
    assert w["new_value"] == pytest.approx(0.6, abs=1e-6)
    report = trace_report(traces, digits=6)
    assert _line(report, "m[w12] ←").endswith("= 0.9 · 0 + 0.1 · -0.0887235 = -0.00887235")
    assert _line(report, "v[w12] ←").endswith("= 7.87185e-6")
    assert _line(report, "m̂[w12] =").endswith("= -0.0887235")
    assert _line(report, "u[w12] =").endswith("= -0.0887235/(√0.00787185 + 1e-08) = -1")
    assert _line(report, "w12 ←").endswith("= 0.6")


def test_frozen_weights_are_written_as_kept():
    model, x, t, loss, lr, _, _ = network_from_spec(STUDENT_GRADE)
    report = trace_report(explain(model, x, t, loss, lr, frozen=["w46"]))
    assert _line(report, "w46 =") == "w46 = 0.3 (frozen)".replace("0.3", "-0.3")


def test_markdown_and_latex_write_real_mathematics():
    report = build_example("student-grade")
    markdown = report.render("markdown")
    assert r"e_{5} &= e_{6} \cdot w_{56} \cdot \left(1 - o_{5}\right) \cdot o_{5}" in markdown
    assert "-0.0000" not in markdown
    latex = report.render("latex")
    assert r"\frac{\partial E}{\partial z_{j}}" in latex and r"\leftarrow" in latex
    assert "→" not in latex and "<-" not in latex and "←" not in latex


def test_ecs171_spec_matches_its_slides_when_rounded():
    model, x, t, loss, lr, _, _ = network_from_spec(ECS171)
    traces = explain(model, x, t, loss, lr)
    values = derivation(traces, ECS171_ROUNDING)[1]
    assert values[0]["gradient"]["w46"] == 0.0067 and values[0]["gradient"]["w56"] == 0.0069
    assert derivation(traces, NOTES_ROUNDING)[1][0]["examples"][0]["o"][6] == 0.875


def test_a_float32_network_is_written_out_with_its_own_float32_numbers():
    # z5 = 1·(-0.3) + 1·0.1 + 0·0.2 + 0.2 is 0 in exact arithmetic and -1.49e-08 in float32
    net = descent.nn.Sequential(descent.nn.Linear(3, 2), descent.nn.Sigmoid(),
                                descent.nn.Linear(2, 1), descent.nn.Sigmoid())
    net[0].weight.data[...] = [[0.2, -0.3], [0.4, 0.1], [-0.5, 0.2]]
    net[0].bias.data[...] = [-0.4, 0.2]
    net[2].weight.data[...] = [[-0.3], [-0.2]]
    net[2].bias.data[...] = [0.1]
    traces = explain(net, [1, 1, 0], [1], lr=0.9)
    blocks, values = derivation(traces)
    engine = {u["unit"]: u for u in traces[0].examples[0]["units"]}
    assert values[0]["examples"][0]["z"][5] == engine[5]["net_input"]
    assert values[0]["examples"][0]["e"][4] == engine[4]["error"]
    for row in traces[0].weights:
        assert values[0]["new_value"][row["name"]] == row["new_value"]


def _evaluates(line):
    """The numbers of a text derivation line, after its symbols: each '= ...' part."""
    return [part.strip() for part in line.split(" = ")[1:]]


def test_a_negated_loss_keeps_its_brackets():
    # E = -(t ln o + (1 - t) ln(1 - o)) for one sigmoid output: the minus covers both terms
    spec = {"layers": [2, 1], "activations": ["sigmoid"], "weights": [[[0.3], [0.2]]],
            "biases": [[0.0]], "loss": "bce", "learning_rate": 0.5, "input": [1, 0],
            "target": [0]}
    report = trace_report(network_from_spec(spec).trace())
    line = _line(report, "E =")
    assert line.startswith("E = -(t3 · ln(o3) + (1 - t3) · ln(1 - o3))")
    # o3 = σ(0.3) = 0.574443; E = -ln(1 - 0.574443) = 0.854355
    assert line.endswith("= 0.8544")


def test_nll_of_a_softmax_is_written_as_its_cross_entropy():
    spec = {"layers": [2, 2], "activations": ["softmax"], "weights": [[[0.3, -0.2], [0.1, 0.4]]],
            "biases": [[0.0, 0.0]], "loss": "nll", "learning_rate": 0.5, "input": [1, 1],
            "target": [1]}
    traces = network_from_spec(spec).trace()
    report = trace_report(traces)
    # z = (0.4, 0.2): p4 = e^0.2 / (e^0.4 + e^0.2) = 0.450166, E = -ln p4 = 0.798139
    assert _line(report, "E =").endswith("= 0.7981")
    assert traces[0].loss_before == pytest.approx(0.798139, abs=1e-6)
    assert _line(report, "e4 =").endswith("= -0.5498")
