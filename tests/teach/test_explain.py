"""descent.explain, the built-in examples and the spec format: the notes' numbers, to
the digits the notes print."""

import json

import numpy as np
import pytest

import descent
from descent import nn
from descent.teach.examples import ECS171, EXAMPLES, STUDENT_GRADE, build_example
from descent.teach.explain import (explain, load_spec, network_from_spec, spec_from_network,
                             trace_report)


def _by_unit(trace):
    return {u["unit"]: u for u in trace.units}


def _by_name(trace):
    return {w["name"]: w for w in trace.weights}


def test_student_grade_trace_matches_the_notes():
    (trace,) = explain(*network_from_spec(STUDENT_GRADE)[:5])
    units, weights = _by_unit(trace), _by_name(trace)
    assert [round(units[j]["activation"], 3) for j in (4, 5, 6)] == [0.332, 0.525, 0.474]
    assert [round(units[j]["net_input"], 3) for j in (4, 5, 6)] == [-0.7, 0.1, -0.105]
    # the notes compute e6 from o6 rounded to 0.474: their 4th decimal may differ by one
    assert units[6]["error"] == pytest.approx(-0.1311, abs=1e-4)
    assert round(units[5]["error"], 4) == 0.0065 and round(units[4]["error"], 4) == 0.0087
    expected = {"w46": -0.261, "w56": -0.138, "b6": 0.218, "w14": 0.192, "w15": -0.306,
                "w24": 0.4, "w25": 0.1, "w34": -0.508, "w35": 0.194, "b4": -0.408,
                "b5": 0.194}
    assert {name: round(weights[name]["new_value"], 3) for name in expected} == expected
    assert trace.loss_after < trace.loss_before


def test_ecs171_trace_steps_downhill():
    (trace,) = explain(*network_from_spec(ECS171)[:5])
    units, weights = _by_unit(trace), _by_name(trace)
    assert [round(units[j]["net_input"], 4) for j in (4, 5, 6)] == [1.32, 1.5, 1.9461]
    assert [round(units[j]["activation"], 4) for j in (4, 5)] == [0.7892, 0.8176]
    assert round(units[6]["activation"], 3) == 0.875
    assert round(weights["w46"]["new_value"], 5) == 0.89935   # w_AZ (slides: 0.90067)


def test_frozen_parameters_keep_their_values_but_show_gradients():
    model, x, target, loss, lr, _, _ = network_from_spec(STUDENT_GRADE)
    (trace,) = explain(model, x, target, loss, lr, frozen=["w14", "b6"])
    weights = _by_name(trace)
    assert weights["w14"]["new_value"] == 0.2 and weights["w14"]["frozen"]
    assert weights["w14"]["gradient"] != 0
    assert weights["b6"]["new_value"] == 0.1
    assert model[2].bias.data[0] == 0.1
    with pytest.raises(descent.DescentValueError, match="w99"):
        explain(model, x, target, loss, lr, frozen=["w99"])


def test_several_steps_keep_lowering_the_loss():
    traces = explain(*network_from_spec(STUDENT_GRADE)[:5], steps=5)
    losses = [t.loss_before for t in traces] + [traces[-1].loss_after]
    assert all(a > b for a, b in zip(losses, losses[1:]))
    assert traces[1].loss_before == pytest.approx(traces[0].loss_after)


def test_trace_reports_in_every_format():
    report = trace_report(explain(*network_from_spec(STUDENT_GRADE)[:5]))
    text = report.render("text")
    assert "w46" in text and "-0.2608" in text and "e_j = ∂E/∂z_j" in text
    assert "| $w_{46}$ | -0.3000 | -0.0435 | -0.2608 |" in report.render("markdown")
    assert r"\begin{tabular}" in report.render("latex")
    assert "<td>-0.2608</td>" in report.render("html")
    data = json.loads(report.render("json"))
    assert data["steps"][0]["weights"][0]["name"] == "w14"
    with pytest.raises(descent.DescentValueError, match="unknown format 'pdf'"):
        report.render("pdf")


def test_spec_round_trips():
    model, x, target, loss, lr, frozen, _ = network_from_spec(STUDENT_GRADE)
    spec = spec_from_network(model, x, target, loss, lr, frozen)
    again = network_from_spec(json.loads(json.dumps(spec)))
    first = explain(model, x, target, loss, lr)
    second = explain(*again[:5])
    assert [w["new_value"] for w in first[0].weights] == \
        [w["new_value"] for w in second[0].weights]


def test_spec_file_loads(tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(STUDENT_GRADE))
    model, x, *_ = load_spec(path)
    assert x.tolist() == [1.0, 0.0, 1.0] and isinstance(model, nn.Sequential)


@pytest.mark.parametrize("change, field", [
    ({"layers": [3]}, "layers"),
    ({"weights": [[[0.2, -0.3], [0.4, 0.1]], [[-0.3], [-0.2]]]}, r"weights\[0\]"),
    ({"biases": [[0.0], [0.1]]}, r"biases\[0\]"),
    ({"activations": ["sigmoid", "sigmund"]}, r"activations\[1\]"),
    ({"learning_rate": -1}, "learning_rate"),
    ({"input": [1, 0]}, "input"),
    ({"target": ["yes"]}, "target"),
    ({"loss": "hinge"}, "loss"),
    ({"frozen": "w14"}, "frozen"),
    ({"colour": "blue"}, "colour"),
    ({"weights": [[["a", 1], [1, 1], [1, 1]], [[1], [1]]]}, r"weights\[0\]"),
])
def test_malformed_spec_names_the_field(change, field):
    with pytest.raises(descent.DescentValueError, match=f"spec field '{field}"):
        network_from_spec({**STUDENT_GRADE, **change})


def test_missing_field_and_bad_files(tmp_path):
    spec = dict(STUDENT_GRADE)
    del spec["input"]
    with pytest.raises(descent.DescentValueError, match="'input': missing"):
        network_from_spec(spec)
    broken = tmp_path / "broken.json"
    broken.write_text("{\"layers\": [3, 2")
    with pytest.raises(descent.DescentValueError, match="not valid JSON.*line 1"):
        load_spec(broken)
    with pytest.raises(descent.DescentValueError, match="cannot read spec file"):
        load_spec(tmp_path / "absent.json")


def test_explain_needs_a_dense_sequential():
    with pytest.raises(descent.DescentTypeError, match="Linear layer at position 0"):
        explain(nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), [1, 2], [1])


# ----------------------------------------------------------------------- examples
def test_every_example_builds_and_renders():
    for name in EXAMPLES:
        report = build_example(name)
        assert report.render("text").strip() and json.loads(report.render("json"))


def test_quadratic_example_numbers():
    data = build_example("quadratic").data["points"]
    assert data[0]["slopes"] == [[0.01, 13.04], [0.001, 13.004], [0.0001, 13.0004]]
    assert data[1]["slopes"] == [[0.01, -10.96], [0.001, -10.996], [0.0001, -10.9996]]
    assert round(data[0]["path"][1]["x"][0], 2) == 1.87
    assert round(data[1]["path"][1]["x"][0], 2) == -0.89


def test_abc_example_numbers():
    path = build_example("abc").data["path"]
    assert path[0]["gradient"] == [1.0, 3.0, -2.0] and path[0]["value"] == -5.0
    assert [round(v, 2) for v in path[1]["x"]] == [0.99, -2.03, 3.02]
    assert round(path[1]["value"], 2) == -5.14


def test_graph_example_numbers():
    data = build_example("graph").data
    assert (data["z"], data["f"]) == (5.0, 20.0)
    assert (data["df/db"], data["df/dc"], data["df/dd"], data["df/dz"]) == (4.0, 4.0, 5.0, 4.0)
    assert data["dot"].startswith("digraph")


def test_perceptron_example():
    data = build_example("perceptron").data
    assert [data[g]["converged"] for g in ("and", "or", "not", "xor")] == [True, True, True,
                                                                           False]


def test_xor_example_learns_and_names_hidden_units():
    data = build_example("xor").data
    assert [round(o) for o in data["output"]] == [0, 1, 1, 0]
    assert len(data["hidden_functions"]) == 2 and "x1 XOR x2" not in data["hidden_functions"]


def test_currency_example_converges_to_the_constant():
    assert build_example("currency").data["constant"] == pytest.approx(3.7, rel=1e-6)


def test_vanishing_gradient_and_dying_relu_examples():
    data = build_example("vanishing-gradient").data
    assert data["sigmoid"]["ratio"] < 1e-4 < data["relu"]["ratio"]
    dying = build_example("dying-relu").data
    assert dying["0.5"]["dead_fraction"][-1] > dying["0.005"]["dead_fraction"][-1]


def test_param_count_example():
    report = build_example("param-count")
    assert report.data["total"] == 529_411 and "529,411" in report.render("text")


def test_unknown_example_lists_the_names():
    with pytest.raises(descent.DescentValueError, match="unknown example 'grade'.*student-grade"):
        build_example("grade")


def test_explain_uses_the_models_dtype():
    model = nn.MLP([2, 1], output="sigmoid", init="zeros")
    (trace,) = explain(model, [1.0, 0.0], [1.0], lr=0.5)
    assert np.isclose(trace.units[-1]["activation"], 0.5)


def test_explain_takes_a_class_label_or_a_one_hot_row_for_cross_entropy():
    def run(target):
        net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1))
        return explain(net, [0.5, -1.0], target, loss="cross_entropy", lr=0.1)[0]

    label, one_hot = run([1]), run([0.0, 1.0])
    assert label.loss_before == pytest.approx(one_hot.loss_before)
    assert label.loss_after < label.loss_before
    assert [w["new_value"] for w in label.weights] == pytest.approx(
        [w["new_value"] for w in one_hot.weights])


SOFTMAX_SPEC = {
    "layers": [2, 2, 2], "activations": ["tanh", "softmax"],
    "weights": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, -0.6], [0.7, 0.8]]],
    "biases": [[0.1, -0.1], [0.0, 0.2]], "loss": "cross_entropy", "learning_rate": 0.5,
    "input": [1.0, 2.0], "target": [0.0, 1.0],
}


@pytest.mark.parametrize("loss", ["cross_entropy", "nll"])
def test_a_network_ending_in_softmax_shows_probabilities_and_p_minus_t(loss):
    # By hand: z3 = 1·0.1 + 2·0.3 + 0.1 = 0.8, z4 = 1·0.2 + 2·0.4 − 0.1 = 0.9;
    # o3 = tanh 0.8 = 0.664037, o4 = tanh 0.9 = 0.716298;
    # z5 = 0.664037·0.5 + 0.716298·0.7 + 0 = 0.833427, z6 = −0.398422 + 0.573038 + 0.2
    # = 0.374616; p = softmax(z) = (0.612732, 0.387268); E = −ln p6 = 0.948638;
    # e5 = p5 − t5 = 0.612732, e6 = p6 − t6 = −0.612732;
    # e3 = (e5·w35 + e6·w36)(1 − o3²) = (0.306366 + 0.367639)·0.559055 = 0.376806.
    model, x, target, _, lr, frozen, _ = network_from_spec(dict(SOFTMAX_SPEC, loss=loss))
    trace = explain(model, x, target, loss, lr, 1, frozen)[0]
    units = {u["unit"]: u for u in trace.units}
    assert trace.loss_before == pytest.approx(0.948638, abs=1e-6)
    assert [round(units[k]["activation"], 6) for k in (5, 6)] == [0.612732, 0.387268]
    assert [round(units[k]["error"], 6) for k in (5, 6)] == [0.612732, -0.612732]
    assert units[3]["error"] == pytest.approx(0.376806, abs=1e-6)
    assert trace.loss_after < trace.loss_before


def test_a_sigmoid_output_with_binary_cross_entropy_has_error_p_minus_t():
    spec = dict(SOFTMAX_SPEC, layers=[2, 2, 1], activations=["tanh", "sigmoid"],
                weights=[SOFTMAX_SPEC["weights"][0], [[0.5], [0.7]]],
                biases=[[0.1, -0.1], [0.0]], loss="bce", target=[1.0])
    model, x, target, loss, lr, frozen, _ = network_from_spec(spec)
    trace = explain(model, x, target, loss, lr, 1, frozen)[0]
    output = trace.units[-1]
    # z5 = 0.833427 (as above); p = σ(z5) = 0.697079; e5 = p − t = −0.302921
    assert output["activation"] == pytest.approx(0.697079, abs=1e-6)
    assert output["error"] == pytest.approx(-0.302921, abs=1e-6)
    assert trace.loss_before == pytest.approx(-np.log(0.697079), abs=1e-6)  # 0.360894
