"""ONNX export: a descent model as an ONNX graph, to serve where descent is not installed.

A model trained on a table (``descent train``, ``fit_table``) takes the raw table, its
stored preprocessing inside the graph. There is one graph input per feature column,
named after the column, of shape ``[N, 1]``: numbers (float32 for a float32 network) for
a numeric column, text for a categorical one. The graph standardises the numbers with
the stored mean and scale (in float64, as descent does), one-hot encodes the categories
(``Equal`` against the stored list of categories), runs the network and ends as
``descent predict`` does: ``label`` ``[N]`` (text, or int64 for integer classes) and
``probabilities`` ``[N, C]`` for a classifier, ``prediction`` ``[N]`` in the target's own
units for a regression. Where ``descent predict`` refuses a category that training never
saw, the graph encodes it as a row of zeros; a missing number (NaN) gives NaN.

Any other model is exported as its bare network: ``input`` ``[N, features]`` to
``output``, both in the network's float type.

The graph uses ONNX's standard operators at opset 19, the first at which ``Equal``
compares text. Leaky ReLU and ELU are composed from ``Where``, ``Mul`` and ``Exp`` with
descent's own formulas, as ONNX Runtime has kernels for its ``LeakyRelu`` and ``Elu``
operators in float32 only.
"""

import json
import os
from pathlib import Path

import numpy as np

from descent._version import __version__
from descent.errors import DescentError, DescentTypeError, DescentValueError
from descent.files.archive import check_output_path, write_atomically
from descent.files.model import load
from descent.interop.layers import flat_layers
from descent.nn.activations import ELU, LeakyReLU, ReLU, Sigmoid, Softmax, Step, Tanh
from descent.nn.inspect import output_activation
from descent.nn.layers import Linear
from descent.nn.module import Module
from descent.tabular import table_metadata

OPSET = 19
IR_VERSION = 9  # the IR version that came with opset 19: ONNX Runtime 1.14 and later
# protobuf, which holds an ONNX file, refuses messages over 2 GiB; the graph needs room
_MAX_WEIGHT_BYTES = 2 ** 31 - 2 ** 24
_ELEMENTWISE = {Sigmoid: "Sigmoid", Tanh: "Tanh", ReLU: "Relu"}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise DescentError("ONNX export needs the onnx package: pip install "
                           "'descent[onnx]'") from None
    return onnx


class _Graph:
    """The nodes, constants and value names of the graph being built, in one float type."""

    def __init__(self, onnx, dtype):
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.type = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes, self.constants, self.used = [], [], set()
        self._scalars = {}

    def name(self, base):
        """``base``, or ``base_1``, ``base_2``, ... when a column or a node has it."""
        name, count = base, 0
        while name in self.used:
            count += 1
            name = f"{base}_{count}"
        self.used.add(name)
        return name

    def constant(self, value, base, dtype=None):
        name = self.name(base)
        array = np.ascontiguousarray(np.asarray(value, dtype=dtype or self.dtype))
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def scalar(self, value, dtype=None):
        """A constant number (one of each value and type in the graph)."""
        key = (value, np.dtype(dtype or self.dtype).name)
        if key not in self._scalars:
            self._scalars[key] = self.constant(value, f"{value:g}_{key[1]}", dtype)
        return self._scalars[key]

    def op(self, kind, *inputs, base, output=None, **attributes):
        """Add one node; return the name of its output (``output`` if given)."""
        output = output or self.name(base)
        self.nodes.append(self.onnx.helper.make_node(kind, list(inputs), [output],
                                                     name=output, **attributes))
        return output

    def value(self, name, tensor_type, shape):
        return self.onnx.helper.make_tensor_value_info(name, tensor_type, shape)


def _network(graph, x, layers):
    """The network's layers applied to ``x``; the name of their output."""
    for position, layer in layers:
        kind, at = type(layer), f"layer{position}"
        if kind is Linear:
            inputs = [x, graph.constant(layer.weight.data, f"{at}.weight")]
            if layer.bias is not None:
                inputs.append(graph.constant(layer.bias.data, f"{at}.bias"))
            x = graph.op("Gemm", *inputs, base=f"{at}.linear")  # W is (in, out): no transB
        elif kind in _ELEMENTWISE:
            x = graph.op(_ELEMENTWISE[kind], x, base=f"{at}.{layer.name}")
        elif kind is Softmax:
            x = graph.op("Softmax", x, axis=layer.axis, base=f"{at}.softmax")
        elif kind is Step:
            positive = graph.op("Greater", x, graph.scalar(0), base=f"{at}.positive")
            x = graph.op("Cast", positive, to=graph.type, base=f"{at}.step")
        elif kind is LeakyReLU:
            positive = graph.op("Greater", x, graph.scalar(0), base=f"{at}.positive")
            slope = graph.constant(layer.negative_slope, f"{at}.negative_slope")
            scaled = graph.op("Mul", x, slope, base=f"{at}.scaled")
            x = graph.op("Where", positive, x, scaled, base=f"{at}.leaky_relu")
        elif kind is ELU:
            # the exponential sees only the non-positive inputs, as in descent.functional
            positive = graph.op("Greater", x, graph.scalar(0), base=f"{at}.positive")
            negative = graph.op("Where", positive, graph.scalar(0), x,
                                base=f"{at}.non_positive")
            exp = graph.op("Exp", negative, base=f"{at}.exp")
            below = graph.op("Sub", exp, graph.scalar(1), base=f"{at}.expm1")
            alpha = graph.constant(layer.alpha, f"{at}.alpha")
            scaled = graph.op("Mul", below, alpha, base=f"{at}.scaled")
            x = graph.op("Where", positive, x, scaled, base=f"{at}.elu")
        # Dropout and Identity change nothing at inference
    return x


def _table_inputs(graph, encoder):
    """One graph input per feature column, and the name of the encoded feature matrix."""
    double = graph.onnx.TensorProto.DOUBLE
    inputs, blocks = [], []
    for column in encoder.columns:
        name = column["name"]
        if column["kind"] == "numeric":
            inputs.append(graph.value(name, graph.type, ["N", 1]))
            number = graph.op("Cast", name, to=double, base=f"{name}.float64")
            mean = graph.constant(column["mean"], f"{name}.mean", np.float64)
            scale = graph.constant(column["scale"], f"{name}.scale", np.float64)
            centred = graph.op("Sub", number, mean, base=f"{name}.centred")
            standard = graph.op("Div", centred, scale, base=f"{name}.standardised")
            blocks.append(graph.op("Cast", standard, to=graph.type, base=f"{name}.encoded"))
        else:
            inputs.append(graph.value(name, graph.onnx.TensorProto.STRING, ["N", 1]))
            categories = graph.constant(column["categories"], f"{name}.categories", object)
            # [N, 1] against [C]: one row of C booleans per example, true at its category
            same = graph.op("Equal", name, categories, base=f"{name}.is")
            blocks.append(graph.op("Cast", same, to=graph.type, base=f"{name}.one_hot"))
    return inputs, graph.op("Concat", *blocks, axis=1, base="features")


def _probabilities(graph, scores, final, width):
    """descent.nn.inspect.class_probabilities, in float64, as an ONNX subgraph."""
    scores = graph.op("Cast", scores, to=graph.onnx.TensorProto.DOUBLE, base="scores.float64")
    if width == 1:
        positive = (scores if final == "sigmoid"
                    else graph.op("Sigmoid", scores, base="head.sigmoid"))
        negative = graph.op("Sub", graph.scalar(1, np.float64), positive, base="head.negative")
        return graph.op("Concat", negative, positive, axis=1, base="head.probabilities")
    if final == "softmax":
        axes = graph.constant([-1], "head.axes", np.int64)
        total = graph.op("ReduceSum", scores, axes, keepdims=1, base="head.total")
        return graph.op("Div", scores, total, base="head.probabilities")
    if final == "sigmoid":
        return scores
    return graph.op("Softmax", scores, axis=-1, base="head.softmax")


def _classifier_outputs(graph, scores, model, classes, width):
    tensor = graph.onnx.TensorProto
    label_name, probabilities_name = graph.name("label"), graph.name("probabilities")
    probabilities = _probabilities(graph, scores, output_activation(model), width)
    integer = all(type(c) is int for c in classes)
    stored = graph.constant(classes if integer else [str(c) for c in classes], "classes",
                            np.int64 if integer else object)
    # the first of equal probabilities wins, as numpy's argmax does
    codes = graph.op("ArgMax", probabilities, axis=1, keepdims=0, base="head.class_codes")
    graph.op("Gather", stored, codes, axis=0, base="label", output=label_name)
    graph.op("Cast", probabilities, to=graph.type, base="probabilities",
             output=probabilities_name)
    return [graph.value(label_name, tensor.INT64 if integer else tensor.STRING, ["N"]),
            graph.value(probabilities_name, graph.type, ["N", len(classes)])]


def _regression_output(graph, scores, target):
    name = graph.name("prediction")
    flat = graph.op("Reshape", scores, graph.constant([-1], "head.shape", np.int64),
                    base="head.flat")
    value = graph.op("Cast", flat, to=graph.onnx.TensorProto.DOUBLE, base="head.float64")
    scale = graph.constant(target["scale"], "target.scale", np.float64)
    mean = graph.constant(target["mean"], "target.mean", np.float64)
    scaled = graph.op("Mul", value, scale, base="head.scaled")
    units = graph.op("Add", scaled, mean, base="head.in_target_units")
    graph.op("Cast", units, to=graph.type, base="prediction", output=name)
    return [graph.value(name, graph.type, ["N"])]


def _dtype(model):
    dtypes = {parameter.dtype for parameter in model.parameters()}
    if len(dtypes) > 1:
        raise DescentTypeError("cannot export a model whose parameters mix float32 and "
                               "float64; convert them to one dtype first")
    weight_bytes = sum(parameter.data.nbytes for parameter in model.parameters())
    if weight_bytes > _MAX_WEIGHT_BYTES:
        raise DescentValueError(f"the model's weights take {weight_bytes:,} bytes, more than "
                                "one ONNX file holds (2 GiB); use a smaller network, or "
                                "float32 weights")
    return dtypes.pop() if dtypes else model._input_dtype()


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: compare where they would be
        return os.path.realpath(a) == os.path.realpath(b)


def _check_output(path, source):
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise DescentValueError(f"the ONNX file must end in .onnx, got {str(path)!r}; name "
                                "it e.g. model.onnx")
    check_output_path(path, "ONNX file")
    if source is not None and _same_file(path, source):
        raise DescentValueError(f"the ONNX file {path} is the model file {source}: writing it "
                                "would destroy the model; choose another file name")


def to_onnx(model, path=None):
    """Export ``model`` as an ONNX graph; write it to ``path`` (atomically) if given.

    A model trained on a table takes the raw columns and gives labels and probabilities,
    or predictions in the target's units; any other model is its bare network (see this
    module's docstring). The graph passes ``onnx.checker.check_model(full_check=True)``
    before anything is written.

    Parameters
    ----------
    model : Module, str or pathlib.Path
        A ``Sequential`` of ``Linear``, ``Dropout`` and activation layers (or one such
        layer), or the path of a model file.
    path : str or pathlib.Path, optional
        The ``.onnx`` file to write; never the model file itself.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    DescentError
        Before anything is written: for a layer ONNX export does not take (naming it and
        its position), a path that does not end in ``.onnx``, cannot be written or is the
        model file, damaged stored preprocessing, or when the ``onnx`` package is missing
        (``pip install 'descent[onnx]'``).

    Examples
    --------
    >>> import descent, descent.interop
    >>> proto = descent.interop.to_onnx(descent.nn.MLP([3, 4, 2], rng=0))
    >>> [i.name for i in proto.graph.input], [o.name for o in proto.graph.output]
    (['input'], ['output'])
    """
    source = model if isinstance(model, (str, os.PathLike)) else None
    if path is not None:
        _check_output(path, source)
    if source is not None:
        model = load(source)
    if not isinstance(model, Module):
        raise DescentTypeError(f"to_onnx takes a descent model or the path of a model file, "
                               f"got {type(model).__name__}")
    layers = flat_layers(model, "the ONNX export")
    metadata = getattr(model, "metadata", None)
    table = isinstance(metadata, dict) and "preprocessing" in metadata
    encoder, target = table_metadata(model) if table else (None, None)
    onnx = _onnx()
    graph = _Graph(onnx, _dtype(model))
    if table:
        names = [column["name"] for column in encoder.columns]
        if "" in names:
            raise DescentValueError("a feature column has an empty name, which cannot name "
                                    "an ONNX input; rename it and train again")
        graph.used.update(names)
        inputs, features = _table_inputs(graph, encoder)
    else:
        linears = [layer for _, layer in layers if type(layer) is Linear]
        width = linears[0].in_features if linears else "features"
        inputs = [graph.value(graph.name("input"), graph.type, ["N", width])]
        features = inputs[0].name
    scores = _network(graph, features, layers)
    widths = [layer.out_features for _, layer in layers if type(layer) is Linear]
    if not table:
        output = graph.op("Identity", scores, base="output", output=graph.name("output"))
        outputs = [graph.value(output, graph.type, ["N", widths[-1] if widths else "outputs"])]
    elif target["task"] == "classification":
        outputs = _classifier_outputs(graph, scores, model, target["classes"], widths[-1])
    else:
        outputs = _regression_output(graph, scores, target)
    proto = _model_proto(graph, inputs, outputs, target)
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        write_atomically(path, lambda handle: handle.write(proto.SerializeToString()),
                         "ONNX file")
    return proto


def _model_proto(graph, inputs, outputs, target):
    helper = graph.onnx.helper
    described = ("a descent network" if target is None else
                 f"a descent {target['task']} model of the table column {target['name']!r}")
    proto = helper.make_model(
        helper.make_graph(graph.nodes, "descent", inputs, outputs,
                          initializer=graph.constants),
        opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
        producer_name="descent", producer_version=__version__, doc_string=described)
    if target is not None:
        properties = {"descent.task": target["task"], "descent.target": target["name"]}
        if target["task"] == "classification":
            properties["descent.classes"] = json.dumps(target["classes"])
        helper.set_model_props(proto, properties)
    return proto
