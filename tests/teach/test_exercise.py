"""descent.teach.exercise and ``descent exercise``: fresh, nice numbers per seed, a sheet
without its answers, and a solution that ``descent explain --spec`` reproduces."""

import io
import json
import re

import pytest

import descent
from descent import cli
from descent.teach.exercise import LEARNING_RATES, MAX_UNITS, make_exercise
from descent.teach.explain import explain, network_from_spec
from tests.helpers import check_tex

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
OPTIONS = [
    {},
    {"layers": (2, 3, 2), "activation": "tanh", "loss": "cross_entropy"},
    {"layers": "4,3,2,1", "activation": "relu", "loss": "mse", "steps": 3},
    {"layers": (2, 2, 1), "activation": "elu", "loss": "binary_cross_entropy"},
    {"layers": (3, 1), "activation": "identity", "loss": "binary_cross_entropy_with_logits"},
    {"layers": (2, 2, 2), "activation": "leaky_relu", "loss": "sse", "steps": 2},
]


def _main(*args):
    out = io.StringIO()
    status = cli.main(list(args), out=out)
    return status, out.getvalue()


def _after_title(text):
    """The report below its title (the title itself may hold a file name or a seed)."""
    return text.split("\n\n", 1)[1]


def test_the_same_seed_gives_the_same_exercise_on_any_machine():
    assert make_exercise(1).spec == {
        "layers": [3, 2, 1], "activations": ["sigmoid", "sigmoid"],
        "weights": [[[-0.9, 1.0], [-0.3, -0.4], [0.9, 0.5]], [[0.9], [0.8]]],
        "biases": [[-0.5, -0.5], [0.3]], "loss": "sse", "learning_rate": 0.2,
        "input": [1, 1, 0], "target": [0]}
    for options in OPTIONS:
        first, second = make_exercise(7, **options), make_exercise(7, **options)
        assert first.spec == second.spec
        assert first.render("markdown", solutions=True) == \
            second.render("markdown", solutions=True)


def test_different_seeds_give_different_numbers():
    specs = [json.dumps(make_exercise(seed).spec) for seed in range(40)]
    assert len(set(specs)) == len(specs)


def _tenths(value):
    return abs(value * 10 - round(value * 10)) < 1e-9


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: o.get("loss", "sse") + "-"
                         + o.get("activation", "sigmoid"))
def test_the_numbers_can_be_worked_by_hand(options):
    for seed in range(15):
        spec = make_exercise(seed, **options).spec
        weights = [w for layer in spec["weights"] for row in layer for w in row]
        biases = [b for layer in spec["biases"] for b in layer]
        assert all(_tenths(w) and w != 0 and -1 <= w <= 1 for w in weights)
        assert all(_tenths(b) and -0.5 <= b <= 0.5 for b in biases)
        x = spec["input"]
        assert set(x) <= {0, 1} and 1 in x or all(_tenths(v) and 0 < v < 1 for v in x)
        assert spec["learning_rate"] in LEARNING_RATES
        output = spec["activations"][-1]
        if spec["loss"] == "cross_entropy":
            assert output == "softmax" and len(spec["target"]) == 1
            assert spec["target"][0] in range(spec["layers"][-1])
        elif output == "sigmoid" or spec["loss"] == "binary_cross_entropy_with_logits":
            assert set(spec["target"]) <= {0, 1}
        else:
            assert all(_tenths(t) and t != 0 for t in spec["target"])


def test_the_loss_decides_the_output_activation():
    assert make_exercise(0, activation="tanh").spec["activations"] == ["tanh", "tanh"]
    assert make_exercise(0, activation="tanh", loss="bce").spec["activations"] == \
        ["tanh", "sigmoid"]
    assert make_exercise(0, layers=(2, 3), loss="cross_entropy").spec["activations"] == \
        ["softmax"]


def test_relu_exercises_stay_off_the_kink_and_teach_every_layer():
    for seed in range(15):
        exercise = make_exercise(seed, layers=(3, 3, 3, 1), activation="relu", steps=2)
        traces = exercise.traces()
        units = [u for t in traces for u in t.units if u["layer"] > 0]
        assert all(abs(u["net_input"]) >= 0.05 for u in units)
        for layer in (1, 2, 3):
            assert any(u["error"] != 0 for u in traces[0].units if u["layer"] == layer)


@pytest.mark.parametrize("seed", range(8))
def test_the_sheet_does_not_give_the_answers(seed):
    exercise = make_exercise(seed, **OPTIONS[seed % len(OPTIONS)])
    questions = exercise.render("text")
    # every number on the sheet is given data (one decimal at most), never a result;
    # the activations' formulas hold constants (leaky_relu's slope 0.01)
    given = "\n".join(line for line in questions.splitlines()
                      if not line.startswith("  LeakyReLU("))
    decimals = [n.split(".")[1] for n in NUMBER.findall(given) if "." in n]
    assert all(len(d) == 1 for d in decimals)
    (trace, *_) = exercise.traces()
    answers = [u["activation"] for u in trace.units if u["layer"] > 0]
    answers += [w["new_value"] for w in trace.weights if w["gradient"] != 0]
    for value in answers:
        assert f"{value:.4f}" not in questions and f"{value:.3f}" not in questions
    with_solutions = exercise.render("text", solutions=True)
    assert with_solutions.startswith(questions)
    assert f"{answers[-1]:.4f}" in with_solutions[len(questions):]


def test_the_sheet_names_units_and_weights_as_the_notes_do():
    text = make_exercise(1).render("markdown")
    assert "input units 1-3, hidden layer units 4-5 (sigmoid), output unit 6 (sigmoid)" in text
    # seed 1's spec (above): w14 = -0.9, w15 = 1, ..., b6 = 0.3
    assert "| from unit 1 | w14 = -0.9 | w15 = 1 |" in text
    assert "| bias | b6 = 0.3 |" in text
    assert "Input: x1 = 1, x2 = 1, x3 = 0 (" in text and "Target: t6 = 0." in text
    assert "learning rate η = 0.2" in text
    assert r"E &= \frac{1}{2}\sum_{k} {\left(t_{k} - o_{k}\right)}^{2}" in text
    plain = make_exercise(1).render("text")
    assert "E = 1/2 Σ_k (t_k - o_k)²" in plain and "w ← w - η · ∂E/∂w" in plain
    for what in ("net input z_j", "activation o_j", "error E", "error term e_j = ∂E/∂z_j",
                 "8 weights", "3 biases", "new weights"):
        assert what in plain
    labels = make_exercise(2, layers=(2, 3), loss="cross_entropy").render("text")
    assert re.search(r"Target: class (\d) \(counting from 0\), the output unit \d: t3 = ", labels)


def test_the_solution_is_explains_trace_of_the_spec():
    exercise = make_exercise(4, steps=2)
    model, x, target, loss, lr, frozen, _ = network_from_spec(exercise.spec)
    traces = explain(model, x, target, loss, lr, 2, frozen)
    assert [t.__dict__ for t in exercise.traces()] == [t.__dict__ for t in traces]
    assert exercise.solution_report().title == "Solution to exercise 4"
    assert json.loads(exercise.solution_report().render("json"))["steps"] == \
        json.loads(json.dumps([t.__dict__ for t in traces]))


@pytest.mark.parametrize("options", [
    [], ["--layers", "2,3,2", "--activation", "tanh", "--loss", "cross_entropy"],
    ["--layers", "3,3,1", "--activation", "relu", "--loss", "mse", "--steps", "3"],
])
def test_explain_spec_of_the_exercise_reproduces_the_solution(tmp_path, options):
    spec = tmp_path / "exercise.json"
    assert _main("exercise", "--seed", "11", *options, "--spec", "-o", str(spec)) == (0, "")
    steps = options[options.index("--steps") + 1] if "--steps" in options else "1"
    status, explained = _main("explain", "--spec", str(spec), "--steps", steps)
    assert status == 0
    status, sheet = _main("exercise", "--seed", "11", *options, "--solutions")
    assert status == 0
    solution = sheet.split("Solution to exercise 11", 1)[1]
    numbers = NUMBER.findall(_after_title(solution))
    assert len(numbers) > 20 and numbers == NUMBER.findall(_after_title(explained))


def test_the_cli_writes_sheets_in_every_format(tmp_path):
    status, text = _main("exercise", "--seed", "1")
    assert status == 0 and text == make_exercise(1).render("text")
    status, markdown = _main("exercise", "--seed", "1", "--format", "markdown")
    assert markdown.startswith("# Exercise 1: one step of backpropagation by hand")
    sheet = tmp_path / "sheet.tex"
    assert _main("exercise", "--seed", "1", "--format", "latex", "--solutions",
                 "-o", str(sheet)) == (0, "")
    assert sheet.read_text() == make_exercise(1).render("latex", solutions=True)
    status, spec = _main("exercise", "--seed", "1", "--spec")
    assert json.loads(spec) == make_exercise(1).spec


@pytest.mark.parametrize("options", OPTIONS)
def test_latex_has_balanced_braces_and_environments(options):
    exercise = make_exercise(2, **options)
    check_tex(exercise.render("latex"))
    check_tex(exercise.render("latex", solutions=True))
    assert r"\begin{tabular}" in exercise.render("latex")


@pytest.mark.parametrize("options, message", [
    ({"layers": "3"}, "2 to 4 layers"),
    ({"layers": (3, 2, 2, 2, 1)}, r"2 to 4 layers .* got 5: 3,2,2,2,1"),
    ({"layers": "3,7,1"}, "1 to 6 units per layer to be done by hand; got 3,7,1"),
    ({"layers": (3, 0, 1)}, "1 to 6 units per layer"),
    ({"layers": "3,x,1"}, "unit counts separated by commas, .* like 3,2,1; got '3,x,1'"),
    ({"layers": (3, 2.5, 1)}, "whole numbers"),
    ({"activation": "sigmund"}, "unknown activation 'sigmund'; choose one of elu, identity, "
                                "leaky_relu, relu, sigmoid, tanh$"),
    ({"activation": "softmax"}, "softmax is an output activation.*cross_entropy"),
    ({"activation": "step"}, "step has derivative zero"),
    ({"loss": "hinge"}, "unknown loss 'hinge'; choose one of bce, binary_cross_entropy, "),
    ({"loss": "poisson"}, "loss 'poisson' makes no exercise"),
    ({"loss": "cross_entropy"}, "cross_entropy needs a softmax over two or more output "
                                "units .* 3,2,1 end in one"),
    ({"steps": 6}, "steps must be a whole number from 1 to 5"),
    ({"steps": 0}, "from 1 to 5"),
    ({"seed": -1}, "seed must be a whole number >= 0, got -1"),
    ({"seed": 1.5}, "seed must be a whole number >= 0"),
    ({"seed": True}, "seed must be a whole number >= 0"),
])
def test_bad_options_are_refused_with_what_is_allowed(options, message):
    arguments = {"seed": 0, **options}
    with pytest.raises(descent.DescentValueError, match=message):
        make_exercise(**arguments)


def test_only_sheet_formats_render():
    with pytest.raises(descent.DescentValueError, match="unknown format 'json'; choose one "
                                                         "of latex, markdown, text"):
        make_exercise(0).render("json")


def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    sheet = tmp_path / "sheet.txt"
    assert cli.main(["exercise", "--seed", "1", "--layers", "3,9,1", "-o", str(sheet)]) == 2
    err = capsys.readouterr().err
    assert err == (f"descent: error: an exercise has 1 to {MAX_UNITS} units per layer to be "
                   "done by hand; got 3,9,1\n")
    assert not sheet.exists()
    assert cli.main(["exercise", "--seed", "1", "--loss", "cross_entropy"]) == 2
    assert "use e.g. 3,2,2" in capsys.readouterr().err
    assert cli.main(["exercise", "--seed", "1", "--spec", "--format", "latex"]) == 2
    assert "--format is for the question sheet" in capsys.readouterr().err
    assert cli.main(["exercise", "--seed", "1", "-o", str(tmp_path)]) == 2
    assert "cannot write the exercise sheet" in capsys.readouterr().err
    for args, message in ((["--seed", "-1"], "argument --seed: must be at least 0, got -1"),
                          (["--seed", "x"], "argument --seed: expected a whole number"),
                          ([], "the following arguments are required: --seed"),
                          (["--seed", "1", "--spec", "--solutions"], "not allowed with"),
                          (["--seed", "1", "--format", "json"], "invalid choice: 'json'")):
        with pytest.raises(SystemExit) as exited:
            cli.main(["exercise", *args])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and message in err and "Traceback" not in err
