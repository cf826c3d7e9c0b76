"""A training step written out as the lecture notes derive it, line by line:

    z4 = x1 · w14 + x2 · w24 + x3 · w34 + b4 = (1 · 0.2 + 0 · 0.4 + 1 · -0.5) - 0.4 = -0.7
    e5 = e6 · w56 · (1 - o5) · o5 = -0.1311 · -0.2 · 0.475 · 0.525 = 0.0065
    w46 ← w46 - η · ∂E/∂w46 = -0.3 - 0.9 · -0.0435 = -0.261

The arithmetic here is the notes' own (a formula per activation, loss and optimiser),
done by hand from the step's starting weights; ``explain`` gets the same numbers from
descent's engine, and the tests hold the two to each other. With a ``Rounding`` the
values are rounded as the notes round them as they go (activations to 3 decimals, error
terms to 4, ...), each computed from the rounded values before it, so the digits match
the slides'.
"""

import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from descent.teach.mathtext import (EQ, GETS, HALF, MINUS, NEG, PLUS, TIMES, Frac, Fn, Group,
                                    Math, Num, Partial, Pow, Sum, Sym, Text, written)
from descent.teach.report import Derivation, Heading

# A sum of more terms than this is written with Σ.
MAX_TERMS = 6
KINDS = ("net_input", "activation", "derivative", "loss", "error", "gradient", "state",
         "new_value")


@dataclass(frozen=True)
class Rounding:
    """The notes' rounding: decimals per kind of quantity (``KINDS``), half away from zero
    unless the kind is in ``down`` (cut toward zero, as some slides do)."""

    decimals: dict
    down: tuple = ()

    def __call__(self, kind, value):
        if kind not in self.decimals or not math.isfinite(value):
            return value
        mode = ROUND_DOWN if kind in self.down else ROUND_HALF_UP
        # 12 significant digits first, so that 0.26084999999999997 rounds as 0.26085
        exact = Decimal(f"{value:.12g}")
        return float(exact.quantize(Decimal(1).scaleb(-self.decimals[kind]), rounding=mode))

    def digits(self, kind, default):
        return self.decimals.get(kind, default)


# The student-grade example's rounding (seeds 000/001): z and o to 3 decimals, error terms
# and gradients to 4, new weights to 3.
NOTES_ROUNDING = Rounding({"net_input": 3, "activation": 3, "derivative": 3, "loss": 4,
                           "error": 4, "gradient": 4, "state": 4, "new_value": 3})


def _symbol(name):
    """``w46`` -> w with subscript 46; ``w4,10`` -> w with subscript 4,10; ``b6`` -> b_6."""
    return Sym(name[0], name[1:])


@dataclass
class _Hand:
    """The by-hand calculation: the network's structure, the current weights and the
    optimiser's state, and how to write numbers."""

    network: list
    loss: str
    optimizer: dict
    weights: dict
    rounding: Rounding = None
    digits: int = 4
    state: dict = field(default_factory=dict)
    engine: dict = field(default_factory=dict)

    def r(self, kind, value, key=None):
        """``value`` rounded as the notes round it; unrounded, the engine's own number
        for it where the step recorded one (so that a float32 network shows its float32
        values), else the value itself."""
        if self.rounding:
            return self.rounding(kind, value)
        return self.engine.get((kind, key), value) if key is not None else value

    def n(self, kind, value):
        if kind == "state" and not self.rounding:
            # moments such as Adam's v are often tiny: significant digits, not decimals
            return Num(written(value, self.digits) if value == 0 or abs(value) >= 0.1 else
                       f"{value:.{self.digits}g}".replace("e-0", "e-"))
        places = self.rounding.digits(kind, self.digits) if self.rounding else self.digits
        return Num(written(value, places))

    def given(self, value):
        """A number the step starts from: an input, a target, a weight."""
        return Num(written(value, self.digits))

    def setting(self, value):
        """A learning rate or another setting, in full."""
        return Num(written(value, max(self.digits, 6)))


def _unit_symbol(layer_index, base, unit):
    return Sym("x" if layer_index == 0 and base == "o" else base, str(unit))


def _weight_name(i, j):
    return f"w{i}{j}" if i < 10 and j < 10 else f"w{i},{j}"


# ------------------------------------------------------------------------ forward pass
ACTIVATION_VALUES = {
    "identity": lambda z, a: z,
    "step": lambda z, a: 1.0 if z > 0 else 0.0,
    "sigmoid": lambda z, a: 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z)),
    "tanh": lambda z, a: math.tanh(z),
    "relu": lambda z, a: max(z, 0.0),
    "leaky_relu": lambda z, a: z if z > 0 else a * z,
    "elu": lambda z, a: z if z > 0 else a * math.expm1(z),
}


def _softmax(values):
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    return [e / sum(exps) for e in exps]


def _forward(hand, x):
    """z and o of every unit (inputs: o = x), and the lines that compute them."""
    o = {unit: value for unit, value in zip(hand.network[0]["inputs"], x)}
    z, lines = {}, []
    for depth, layer in enumerate(hand.network):
        symbols = [_unit_symbol(depth, "o", i) for i in layer["inputs"]]
        for j in layer["units"]:
            names = [_weight_name(i, j) for i in layer["inputs"]]
            total = sum(o[i] * hand.weights[w] for i, w in zip(layer["inputs"], names))
            bias = hand.weights.get(f"b{j}", 0.0) if layer["bias"] else 0.0
            z[j] = hand.r("net_input", total + bias, j)
            lines.append(_net_input_line(hand, j, depth, symbols, names, o, bias, z[j]))
            if layer["activation"] != "softmax":
                function = ACTIVATION_VALUES[layer["activation"]]
                o[j] = hand.r("activation", function(z[j], layer["setting"]), j)
            if layer["activation"] not in ("softmax", "identity"):
                lines.append(Math(Sym("o", str(j)), EQ,
                                  Fn(layer["activation"], Math(Sym("z", str(j)))), EQ,
                                  Fn(layer["activation"], Math(hand.n("net_input", z[j]))),
                                  EQ, hand.n("activation", o[j])))
        if layer["activation"] == "softmax":
            values = _softmax([z[j] for j in layer["units"]])
            for j, value in zip(layer["units"], values):
                o[j] = hand.r("activation", value, j)
                lines.append(_softmax_line(hand, j, layer, z, o[j]))
    return z, o, lines


def _net_input_line(hand, j, depth, symbols, names, o, bias, value):
    layer = hand.network[depth]
    line = Math(Sym("z", str(j)), EQ)
    if len(names) > MAX_TERMS:
        sum_symbol = Math(Sum("i"), Sym("x" if depth == 0 else "o", "i"), TIMES,
                          Sym("w", f"i{j}" if j < 10 else f"i,{j}"))
        line += sum_symbol
        if layer["bias"]:
            line += Math(PLUS, Sym("b", str(j)))
        return line + Math(EQ, hand.n("net_input", value))
    terms, numbers = [], []
    for k, (symbol, name, i) in enumerate(zip(symbols, names, layer["inputs"])):
        if k:
            terms.append(PLUS)
            numbers.append(PLUS)
        terms += [symbol, TIMES, _symbol(name)]
        numbers += [hand.given(o[i]) if depth == 0 else hand.n("activation", o[i]), TIMES,
                    hand.given(hand.weights[name])]
    line += Math(*terms)
    if layer["bias"]:
        line += Math(PLUS, Sym("b", str(j)))
    line += Math(EQ, Group(Math(*numbers)))
    if layer["bias"]:
        line += Math(MINUS if bias < 0 else PLUS, hand.given(abs(bias)))
    return line + Math(EQ, hand.n("net_input", value))


def _softmax_line(hand, j, layer, z, value):
    units = layer["units"]
    exps = [Fn("exp", Math(hand.n("net_input", z[k]))) for k in units]
    bottom = []
    for k, term in enumerate(exps):
        bottom += [PLUS, term] if k else [term]
    return Math(Sym("o", str(j)), EQ,
                Frac(Math(Fn("exp", Math(Sym("z", str(j))))),
                     Math(Sum("k"), Fn("exp", Math(Sym("z", "k"))))), EQ,
                Frac(Math(exps[units.index(j)]), Math(*bottom)), EQ,
                hand.n("activation", value))


# -------------------------------------------------------------------------------- loss
def _targets(hand, target):
    """The target as one value per output unit (a class label becomes one-hot)."""
    outputs = hand.network[-1]["units"]
    if len(target) == 1 and len(outputs) > 1:
        return [1.0 if k == int(target[0]) else 0.0 for k in range(len(outputs))]
    return [float(t) for t in target]


def _probabilities(hand, o, outputs):
    """The probabilities a cross-entropy reads: a softmax output's own, else softmax(o)."""
    values = [o[k] for k in outputs]
    if hand.network[-1]["activation"] == "softmax":
        return values
    return [hand.r("activation", p) for p in _softmax(values)]


def _sigmoid(value):
    return ACTIVATION_VALUES["sigmoid"](value, None)


def _loss(hand, o, t):
    """E for one example, and its line."""
    outputs = hand.network[-1]["units"]
    count = len(outputs)
    loss, per = hand.loss, Num(written(1 / count, hand.digits)) if count > 1 else None
    osym = [Sym("o", str(k)) for k in outputs]
    tsym = [Sym("t", str(k)) for k in outputs]
    symbolic, numeric = [], []
    if loss in ("sse", "mse", "mae"):
        for k, (s_o, s_t) in enumerate(zip(osym, tsym)):
            diff = Math(s_t, MINUS, s_o)
            ndiff = Math(hand.given(t[k]), MINUS, hand.n("activation", o[outputs[k]]))
            if loss == "mae":
                symbolic.append(Fn("abs", diff))
                numeric.append(Fn("abs", ndiff))
            else:
                symbolic.append(Pow(Group(diff), "2"))
                numeric.append(Pow(Group(ndiff), "2"))
        squares = sum(abs(tk - o[k]) if loss == "mae" else (tk - o[k]) ** 2
                      for tk, k in zip(t, outputs))
        value = 0.5 * squares if loss == "sse" else squares / count
        factor = HALF if loss == "sse" else Frac(Math(Num("1")), Math(Num(str(count))))
        if loss != "sse" and count == 1:
            factor = None
        return value, _loss_line(hand, factor, symbolic, numeric, value)
    if loss in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        logits = loss == "binary_cross_entropy_with_logits"
        value = 0.0
        for k, (s_o, s_t) in enumerate(zip(osym, tsym)):
            p = _sigmoid(o[outputs[k]]) if logits else o[outputs[k]]
            value -= (t[k] * math.log(p) if t[k] else 0.0) + \
                ((1 - t[k]) * math.log(1 - p) if t[k] != 1 else 0.0)
            prob = Fn("sigmoid", Math(s_o)) if logits else s_o
            nprob = Fn("sigmoid", Math(hand.n("activation", o[outputs[k]]))) if logits \
                else hand.n("activation", o[outputs[k]])
            symbolic.append(Math(s_t, TIMES, Fn("ln", Math(prob)), PLUS,
                                 Group(Math(Num("1"), MINUS, s_t)), TIMES,
                                 Fn("ln", Math(Num("1"), MINUS, prob))))
            numeric.append(Math(hand.given(t[k]), TIMES, Fn("ln", Math(nprob)), PLUS,
                                hand.given(1 - t[k]), TIMES,
                                Fn("ln", Math(Num("1"), MINUS, nprob))))
        value /= count
        return value, _loss_line(hand, per, symbolic, numeric, value, negate=True)
    if loss in ("cross_entropy", "nll"):
        p = [o[k] for k in outputs] if loss == "nll" else _probabilities(hand, o, outputs)
        value = -sum(tk * (pk if loss == "nll" else math.log(pk)) for tk, pk in zip(t, p)
                     if tk)
        psym = [Sym("o" if loss == "nll" else "p", str(k)) for k in outputs]
        for k, (s_p, s_t) in enumerate(zip(psym, tsym)):
            if t[k]:
                symbolic.append(Math(s_t, TIMES, s_p if loss == "nll" else Fn("ln", Math(s_p))))
                number = hand.n("activation", p[k])
                numeric.append(Math(hand.given(t[k]), TIMES,
                                    number if loss == "nll" else Fn("ln", Math(number))))
        return value, _loss_line(hand, None, symbolic, numeric, value, negate=True)
    if loss == "poisson":
        value = sum(math.exp(o[k]) - tk * o[k] for tk, k in zip(t, outputs)) / count
        for k, (s_o, s_t) in enumerate(zip(osym, tsym)):
            symbolic.append(Math(Fn("exp", Math(s_o)), MINUS, s_t, TIMES, s_o))
            no = hand.n("activation", o[outputs[k]])
            numeric.append(Math(Fn("exp", Math(no)), MINUS, hand.given(t[k]), TIMES, no))
        return value, _loss_line(hand, per, symbolic, numeric, value)
    return None, None


def _joined(terms):
    joined = []
    for k, term in enumerate(terms):
        joined += [PLUS, term] if k else [term]
    return Math(*joined)


def _loss_line(hand, factor, symbolic, numeric, value, negate=False):
    def side(terms):
        inner = _joined(terms) if len(terms) <= MAX_TERMS else Math(Text("..."))
        wrapped = Group(inner) if len(terms) > 1 or negate else inner
        front = [NEG] if negate else []
        return Math(*front, *([factor] if factor else []), wrapped)
    line = Math(Sym("E"), EQ) + side(symbolic)
    if len(numeric) <= MAX_TERMS:
        line += Math(EQ) + side(numeric)
    return line + Math(EQ, hand.n("loss", hand.r("loss", value)))


# ---------------------------------------------------------------------- backward pass
def _derivative(hand, layer, j, z, o):
    """∂o_j/∂z_j for an elementwise activation: (symbolic factor, numeric factor, value);
    None factors for the identity (a factor of 1)."""
    name, setting = layer["activation"], layer["setting"]
    # the slides round σ(Z)(1 - σ(Z)) of the output; a hidden unit uses its o as it is
    oj = hand.r("derivative", o[j]) if layer is hand.network[-1] else o[j]
    zsym, osym = Sym("z", str(j)), Sym("o", str(j))
    if name == "identity":
        return None, None, 1.0
    if name == "sigmoid":
        rest = hand.r("derivative", 1 - oj)
        return (Math(Group(Math(Num("1"), MINUS, osym)), TIMES, osym),
                Math(hand.n("derivative", rest), TIMES, hand.n("derivative", oj)), rest * oj)
    if name == "tanh":
        value = hand.r("derivative", 1 - oj * oj)
        return (Math(Group(Math(Num("1"), MINUS, Pow(osym, "2")))),
                Math(hand.n("derivative", value)), value)
    if name == "elu" and z[j] <= 0:
        value = hand.r("derivative", oj + setting)
        return (Math(Group(Math(osym, PLUS, Sym("alpha")))), Math(hand.n("derivative", value)),
                value)
    values = {"relu": 1.0 if z[j] > 0 else 0.0, "step": 0.0, "elu": 1.0,
              "leaky_relu": 1.0 if z[j] > 0 else setting}
    return Math(Fn(name, Math(zsym), prime=True)), Math(hand.given(values[name])), values[name]


def _output_errors(hand, z, o, t):
    """e_k = ∂E/∂z_k of the output units, and their lines."""
    layer = hand.network[-1]
    outputs, activation, loss = layer["units"], layer["activation"], hand.loss
    count = len(outputs)
    errors, lines = {}, []
    fused = (loss == "cross_entropy" and activation in ("softmax", "identity")) or \
        (loss == "binary_cross_entropy" and activation == "sigmoid") or \
        (loss == "binary_cross_entropy_with_logits" and activation == "identity")
    if fused:
        probabilities = _probabilities(hand, o, outputs) if loss == "cross_entropy" else \
            [_sigmoid(o[k]) if activation == "identity" else o[k] for k in outputs]
        scale = 1.0 if loss == "cross_entropy" else 1 / count
        name = "p" if loss == "cross_entropy" or activation == "identity" else "o"
        for k, p, tk in zip(outputs, probabilities, t):
            errors[k] = hand.r("error", scale * (p - tk), k)
            symbolic = Math(Sym(name, str(k)), MINUS, Sym("t", str(k)))
            numeric = Math(hand.n("activation", p), MINUS, hand.given(tk))
            if scale != 1:
                symbolic = Math(Frac(Math(Num("1")), Math(Num(str(count)))), Group(symbolic))
                numeric = Math(Frac(Math(Num("1")), Math(Num(str(count)))), Group(numeric))
            lines.append(Math(Sym("e", str(k)), EQ, Partial(Sym("E"), Sym("z", str(k))), EQ,
                              symbolic, EQ, numeric, EQ, hand.n("error", errors[k])))
        return errors, lines
    slopes = {k: _loss_slope(hand, k, outputs, o, t) for k in outputs}
    if activation == "softmax":
        mean = sum(slopes[k][2] * o[k] for k in outputs)
        for k in outputs:
            errors[k] = hand.r("error", o[k] * (slopes[k][2] - mean), k)
            lines.append(Math(Sym("e", str(k)), EQ, Sym("o", str(k)), TIMES,
                              Group(Math(Partial(Sym("E"), Sym("o", str(k))), MINUS, Sum("m"),
                                         Partial(Sym("E"), Sym("o", "m")), TIMES,
                                         Sym("o", "m"))), EQ,
                              hand.n("activation", o[k]), TIMES,
                              Group(Math(hand.n("error", slopes[k][2]), MINUS,
                                         hand.n("error", mean))), EQ,
                              hand.n("error", errors[k])))
        return errors, lines
    for k in outputs:
        symbolic, numeric, slope = slopes[k]
        factor, number, derivative = _derivative(hand, layer, k, z, o)
        errors[k] = hand.r("error", slope * derivative, k)
        line = Math(Sym("e", str(k)), EQ, Partial(Sym("E"), Sym("o", str(k))))
        if factor is not None:
            line += Math(TIMES, Partial(Sym("o", str(k)), Sym("z", str(k))))
        line += Math(EQ) + symbolic
        if factor is not None:
            line += Math(TIMES) + factor
        line += Math(EQ) + numeric
        if number is not None:
            line += Math(TIMES) + number
        lines.append(line + Math(EQ, hand.n("error", errors[k])))
    return errors, lines


def _loss_slope(hand, k, outputs, o, t):
    """∂E/∂o_k: (symbolic, numeric, value)."""
    count, index = len(outputs), outputs.index(k)
    tk, ok, loss = t[index], o[k], hand.loss
    tsym, osym = Sym("t", str(k)), Sym("o", str(k))
    no, nt = hand.n("activation", ok), hand.given(tk)
    per = [Frac(Math(Num("1")), Math(Num(str(count))))] if count > 1 else []
    if loss == "sse":
        return (Math(NEG, Group(Math(tsym, MINUS, osym))),
                Math(NEG, Group(Math(nt, MINUS, no))), -(tk - ok))
    if loss == "mse":
        two = Frac(Math(Num("2")), Math(Num(str(count)))) if count > 1 else Num("2")
        return (Math(NEG, two, Group(Math(tsym, MINUS, osym))),
                Math(NEG, two, Group(Math(nt, MINUS, no))), -2 * (tk - ok) / count)
    if loss == "mae":
        sign = (ok > tk) - (ok < tk)
        return (Math(*per, Fn("sign", Math(osym, MINUS, tsym))),
                Math(*per, Fn("sign", Math(no, MINUS, nt))), sign / count)
    if loss == "binary_cross_entropy":
        return (Math(*per, Frac(Math(osym, MINUS, tsym),
                                Math(osym, Group(Math(Num("1"), MINUS, osym))))),
                Math(*per, Frac(Math(no, MINUS, nt), Math(no, Group(Math(Num("1"), MINUS, no))))),
                (ok - tk) / (ok * (1 - ok)) / count)
    if loss == "binary_cross_entropy_with_logits":
        p = _sigmoid(ok)
        return (Math(*per, Fn("sigmoid", Math(osym)), MINUS, tsym),
                Math(*per, hand.n("activation", p), MINUS, nt), (p - tk) / count)
    if loss == "cross_entropy":
        p = _probabilities(hand, o, outputs)[index]
        return (Math(Sym("p", str(k)), MINUS, tsym), Math(hand.n("activation", p), MINUS, nt),
                p - tk)
    if loss == "nll":
        return Math(NEG, tsym), Math(NEG, nt), -tk
    if loss == "poisson":
        return (Math(*per, Fn("exp", Math(osym)), MINUS, tsym),
                Math(*per, Fn("exp", Math(no)), MINUS, nt), (math.exp(ok) - tk) / count)
    raise KeyError(loss)


def _hidden_errors(hand, z, o, errors):
    """e_j = (Σ_k e_k · w_jk) · f'(z_j) for the hidden units, last layer first."""
    lines = []
    for depth in range(len(hand.network) - 2, -1, -1):
        layer, above = hand.network[depth], hand.network[depth + 1]
        for j in layer["units"]:
            names = [_weight_name(j, k) for k in above["units"]]
            incoming = sum(errors[k] * hand.weights[w] for k, w in zip(above["units"], names))
            factor, number, derivative = _derivative(hand, layer, j, z, o)
            errors[j] = hand.r("error", incoming * derivative, j)
            if len(names) > MAX_TERMS:
                symbolic = Math(Group(Math(Sum("k"), Sym("e", "k"), TIMES,
                                           Sym("w", f"{j}k" if j < 10 else f"{j},k"))))
                numeric = Math(hand.n("error", incoming))
            else:
                pairs = [Math(Sym("e", str(k)), TIMES, _symbol(w))
                         for k, w in zip(above["units"], names)]
                values = [Math(hand.n("error", errors[k]), TIMES, hand.given(hand.weights[w]))
                          for k, w in zip(above["units"], names)]
                symbolic, numeric = _joined(pairs), _joined(values)
                if len(names) > 1:
                    symbolic, numeric = Math(Group(symbolic)), Math(Group(numeric))
            line = Math(Sym("e", str(j)), EQ) + symbolic
            if factor is not None:
                line += Math(TIMES) + factor
            line += Math(EQ) + numeric
            if number is not None:
                line += Math(TIMES) + number
            lines.append(line + Math(EQ, hand.n("error", errors[j])))
    return lines


def _gradients(hand, o, errors):
    """∂E/∂w_ij = e_j · o_i and ∂E/∂b_j = e_j, and their lines."""
    gradients, lines = {}, []
    for depth in range(len(hand.network) - 1, -1, -1):
        layer = hand.network[depth]
        for j in layer["units"]:
            for i in layer["inputs"]:
                name = _weight_name(i, j)
                gradients[name] = hand.r("gradient", errors[j] * o[i], name)
                lines.append(Math(Partial(Sym("E"), _symbol(name)), EQ, Sym("e", str(j)), TIMES,
                                  _unit_symbol(depth, "o", i), EQ, hand.n("error", errors[j]),
                                  TIMES, hand.given(o[i]) if depth == 0 else
                                  hand.n("activation", o[i]), EQ,
                                  hand.n("gradient", gradients[name])))
            if layer["bias"]:
                name = f"b{j}"
                gradients[name] = hand.r("gradient", errors[j], name)
                lines.append(Math(Partial(Sym("E"), _symbol(name)), EQ, Sym("e", str(j)), EQ,
                                  hand.n("gradient", gradients[name])))
    return gradients, lines


def _mean_lines(hand, per_example, names):
    """∂E/∂w = (1/n) Σ_n ∂E_n/∂w: the mean gradient of a batch."""
    count = len(per_example)
    mean, lines = {}, []
    for name in names:
        values = [g[name] for g in per_example]
        mean[name] = hand.r("gradient", sum(values) / count, ("mean", name))
        numeric = _joined([hand.n("gradient", v) for v in values]) if count <= MAX_TERMS \
            else Math(Text("..."))
        lines.append(Math(Partial(Sym("E"), _symbol(name)), EQ,
                          Frac(Math(Num("1")), Math(Num(str(count)))), Text(" "), Sum("n"),
                          Partial(Sym("E", "n"), _symbol(name)), EQ,
                          Frac(Math(Num("1")), Math(Num(str(count)))), Group(numeric), EQ,
                          hand.n("gradient", mean[name])))
    return mean, lines


# ------------------------------------------------------------------------------ update
def _ratio(top, bottom):
    return Frac(Math(top), Math(bottom))


def _update(hand, name, g, step):
    """The optimiser's step for one weight: the new value, and the lines."""
    hyper, kind = hand.optimizer, hand.optimizer["name"]
    plain = kind == "sgd" and not hyper.get("momentum")
    state = hand.state.setdefault(name, {})
    w, lr = hand.weights[name], hyper["lr"]
    wsym, gsym = _symbol(name), Sym("g", of=name)
    lines = []
    decay = hyper.get("weight_decay", 0.0)
    if kind == "adamw" and decay:
        w = hand.r("state", w * (1 - lr * decay))
        lines.append(Math(wsym, GETS, wsym, TIMES, Group(Math(Num("1"), MINUS, Sym("eta"), TIMES,
                                                              Sym("lambda"))), EQ,
                          hand.given(hand.weights[name]), TIMES,
                          Group(Math(Num("1"), MINUS, hand.setting(lr), TIMES,
                                     hand.setting(decay))), EQ, hand.n("state", w)))
    if decay and kind != "adamw":
        lines.append(Math(gsym, EQ, Partial(Sym("E"), wsym), PLUS, Sym("lambda"), TIMES, wsym,
                          EQ, hand.n("gradient" if plain else "state", g), PLUS, hand.setting(decay), TIMES,
                          hand.given(w), EQ, hand.n("gradient" if plain else "state", g + decay * w)))
        g = hand.r("gradient", g + decay * w)
    elif kind != "sgd" or hyper.get("momentum"):
        lines.append(Math(gsym, EQ, Partial(Sym("E"), wsym), EQ, hand.n("gradient" if plain else "state", g)))
    else:
        gsym = Partial(Sym("E"), wsym)
    direction, dsym, scale = _direction(hand, kind, hyper, state, name, g, gsym, step, lines)
    new = hand.r("new_value", w - scale * direction, name)
    eta = Sym("eta", "t") if kind == "adagrad" and hyper.get("lr_decay") else Sym("eta")
    lines.append(Math(wsym, GETS, wsym, MINUS, eta, TIMES) + dsym +
                 Math(EQ, hand.given(w), MINUS, hand.setting(scale), TIMES,
                      hand.n("gradient" if plain else "state", direction), EQ,
                      hand.n("new_value", new)))
    return new, lines


def _direction(hand, kind, hyper, state, name, g, gsym, step, lines):
    """What the learning rate multiplies: (value, its symbol, the rate used)."""
    lr = hyper["lr"]
    if kind == "sgd":
        momentum = hyper["momentum"]
        if not momentum:
            return g, Math(gsym), lr
        vsym = Sym("v", of=name)
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = g
            lines.append(Math(vsym, EQ, gsym, EQ, hand.n("state", g),
                              Text(" (the first step)")))
        else:
            old, damp = state["momentum_buffer"], 1 - hyper["dampening"]
            state["momentum_buffer"] = hand.r("state", momentum * old + damp * g)
            line = Math(vsym, GETS, Sym("mu"), TIMES, vsym, PLUS)
            numbers = Math(hand.setting(momentum), TIMES, hand.n("state", old), PLUS)
            if damp != 1:
                line += Math(Group(Math(Num("1"), MINUS, Sym("rho"))), TIMES)
                numbers += Math(hand.setting(damp), TIMES)
            lines.append(line + Math(gsym, EQ) + numbers +
                         Math(hand.n("state", g), EQ,
                              hand.n("state", state["momentum_buffer"])))
        buffer = state["momentum_buffer"]
        if not hyper["nesterov"]:
            return buffer, Math(vsym), lr
        dsym = Sym("d", of=name)
        value = hand.r("state", g + momentum * buffer)
        lines.append(Math(dsym, EQ, gsym, PLUS, Sym("mu"), TIMES, vsym, EQ,
                          hand.n("state", g), PLUS, hand.setting(momentum), TIMES,
                          hand.n("state", buffer), EQ, hand.n("state", value)))
        return value, Math(dsym), lr
    if kind == "adagrad":
        total_sym = Sym("G", of=name)
        old = state.get("sum", hyper["initial_accumulator_value"])
        state["sum"] = hand.r("state", old + g * g)
        lines.append(Math(total_sym, GETS, total_sym, PLUS, Pow(gsym, "2"), EQ,
                          hand.n("state", old), PLUS, Pow(Group(Math(hand.n("state", g))),
                                                          "2"), EQ,
                          hand.n("state", state["sum"])))
        rate = lr / (1 + (step - 1) * hyper["lr_decay"])
        if hyper["lr_decay"]:
            lines.append(Math(Sym("eta", "t"), EQ, _ratio(Sym("eta"), Group(Math(
                Num("1"), PLUS, Group(Math(Sym("t"), MINUS, Num("1"))), TIMES,
                Text("decay")))), EQ, hand.setting(rate)))
        eps = hyper["eps"]
        value = g / (math.sqrt(state["sum"]) + eps)
        return value, _step_line(
            hand, lines, name, Frac(Math(gsym), Math(Fn("sqrt", Math(total_sym)), PLUS,
                                                     Sym("epsilon"))),
            Frac(Math(hand.n("state", g)), Math(Fn("sqrt", Math(hand.n("state", state["sum"]))),
                                                PLUS, hand.setting(eps))), value), rate
    if kind == "rmsprop":
        alpha, eps = hyper["alpha"], hyper["eps"]
        vsym = Sym("v", of=name)
        old = state.get("square_avg", 0.0)
        state["square_avg"] = hand.r("state", alpha * old + (1 - alpha) * g * g)
        lines.append(Math(vsym, GETS, Sym("alpha"), TIMES, vsym, PLUS,
                          Group(Math(Num("1"), MINUS, Sym("alpha"))), TIMES, Pow(gsym, "2"), EQ,
                          hand.setting(alpha), TIMES, hand.n("state", old), PLUS,
                          hand.setting(1 - alpha), TIMES,
                          Pow(Group(Math(hand.n("state", g))), "2"), EQ,
                          hand.n("state", state["square_avg"])))
        spread, spread_sym = state["square_avg"], Math(vsym)
        if hyper["centered"]:
            msym = Sym("g", bar=True, of=name)
            old_mean = state.get("grad_avg", 0.0)
            state["grad_avg"] = hand.r("state", alpha * old_mean + (1 - alpha) * g)
            lines.append(Math(msym, GETS, Sym("alpha"), TIMES, msym, PLUS,
                              Group(Math(Num("1"), MINUS, Sym("alpha"))), TIMES, gsym, EQ,
                              hand.n("state", state["grad_avg"])))
            spread = spread - state["grad_avg"] ** 2
            spread_sym = Math(vsym, MINUS, Pow(msym, "2"))
        step_value = g / (math.sqrt(spread) + eps)
        step_sym = Frac(Math(gsym), Math(Fn("sqrt", spread_sym), PLUS, Sym("epsilon")))
        if not hyper["momentum"]:
            return step_value, _step_line(
                hand, lines, name, step_sym,
                Frac(Math(hand.n("state", g)), Math(Fn("sqrt", Math(hand.n("state", spread))),
                                                    PLUS, hand.setting(eps))),
                step_value), lr
        bsym = Sym("b", of=name)
        old_buffer = state.get("momentum_buffer", 0.0)
        state["momentum_buffer"] = hand.r("state", hyper["momentum"] * old_buffer + step_value)
        lines.append(Math(bsym, GETS, Sym("mu"), TIMES, bsym, PLUS, step_sym, EQ,
                          hand.n("state", state["momentum_buffer"])))
        return state["momentum_buffer"], Math(bsym), lr
    beta1, beta2 = hyper["betas"]
    eps = hyper["eps"]
    msym, vsym = Sym("m", of=name), Sym("v", of=name)
    old_m, old_v = state.get("exp_avg", 0.0), state.get("exp_avg_sq", 0.0)
    state["exp_avg"] = m = hand.r("state", beta1 * old_m + (1 - beta1) * g)
    state["exp_avg_sq"] = v = hand.r("state", beta2 * old_v + (1 - beta2) * g * g)
    b1, b2 = Sym("beta", "1"), Sym("beta", "2")
    lines.append(Math(msym, GETS, b1, TIMES, msym, PLUS, Group(Math(Num("1"), MINUS, b1)),
                      TIMES, gsym, EQ, hand.setting(beta1), TIMES, hand.n("state", old_m), PLUS,
                      hand.setting(1 - beta1), TIMES, hand.n("state", g), EQ,
                      hand.n("state", m)))
    lines.append(Math(vsym, GETS, b2, TIMES, vsym, PLUS, Group(Math(Num("1"), MINUS, b2)),
                      TIMES, Pow(gsym, "2"), EQ, hand.setting(beta2), TIMES,
                      hand.n("state", old_v), PLUS, hand.setting(1 - beta2), TIMES,
                      Pow(Group(Math(hand.n("state", g))), "2"), EQ, hand.n("state", v)))
    # 1 - β^t as -expm1(t ln β): in float32 the plain form loses digits (and the engine
    # computes it in float64 either way)
    c1, c2 = -math.expm1(step * math.log(beta1)), -math.expm1(step * math.log(beta2))
    m_hat, v_hat = hand.r("state", m / c1), hand.r("state", v / c2)
    hat_m, hat_v = Sym("m", hat=True, of=name), Sym("v", hat=True, of=name)
    t = str(step)
    lines.append(Math(hat_m, EQ, Frac(Math(msym), Math(Num("1"), MINUS, Sym("beta", "1", "t"))),
                      EQ, Frac(Math(hand.n("state", m)),
                               Math(Num("1"), MINUS, Pow(hand.setting(beta1), t))), EQ,
                      hand.n("state", m_hat)))
    lines.append(Math(hat_v, EQ, Frac(Math(vsym), Math(Num("1"), MINUS, Sym("beta", "2", "t"))),
                      EQ, Frac(Math(hand.n("state", v)),
                               Math(Num("1"), MINUS, Pow(hand.setting(beta2), t))), EQ,
                      hand.n("state", v_hat)))
    value = m_hat / (math.sqrt(v_hat) + eps)
    return value, _step_line(
        hand, lines, name, Frac(Math(hat_m), Math(Fn("sqrt", Math(hat_v)), PLUS, Sym("epsilon"))),
        Frac(Math(hand.n("state", m_hat)), Math(Fn("sqrt", Math(hand.n("state", v_hat))), PLUS,
                                                hand.setting(eps))), value), lr


def _step_line(hand, lines, name, symbolic, numeric, value):
    """u = the step's fraction, written out with its numbers; returns u's symbol."""
    usym = Sym("u", of=name)
    lines.append(Math(usym, EQ, symbolic, EQ, numeric, EQ, hand.n("state", value)))
    return Math(usym)


# ------------------------------------------------------------------------ the whole step
def supported(trace):
    """Why a trace cannot be written out as derivations, or None when it can."""
    if trace.loss is None:
        return "derivations are written for descent's built-in losses, not a custom one"
    if any(layer["activation"] == "softmax" for layer in trace.network[:-1]):
        return "derivations are written for softmax output layers only"
    return None


LOSS_NAMES = {"bce": "binary_cross_entropy"}


def _engine_values(trace, number):
    """What the engine computed for example ``number`` of ``trace`` (and for the step)."""
    values = {}
    for unit in trace.examples[number]["units"]:
        values[("activation", unit["unit"])] = unit["activation"]
        if unit["layer"]:
            values[("net_input", unit["unit"])] = unit["net_input"]
            values[("error", unit["unit"])] = unit["error"]
    for row in trace.weights:
        values[("gradient", row["name"])] = row["per_example"][number]
        values[("gradient", ("mean", row["name"]))] = row["gradient"]
        values[("new_value", row["name"])] = row["new_value"]
    return values


def derivation(traces, rounding=None, digits=4, from_engine=True):
    """The steps ``explain`` recorded, written out as the notes derive them.

    Returns ``(blocks, values)``: report blocks (headings and ``Derivation``s) and, per
    step, the numbers the by-hand arithmetic reached (``z``, ``o``, ``e`` per example,
    ``gradient`` and ``new_value`` per weight, the loss ``E`` per example). Without a
    ``rounding`` each line's result is the engine's own number (``from_engine``); with
    ``from_engine=False`` every number is the notes' arithmetic alone, which the tests
    hold to the engine's.
    """
    first = traces[0]
    loss = LOSS_NAMES.get(first.loss, first.loss)
    if loss == "nll" and first.network[-1]["activation"] == "softmax":
        loss = "cross_entropy"  # nll of a softmax's probabilities is its cross-entropy
    hand = _Hand(first.network, loss, first.optimizer,
                 {w["name"]: w["value"] for w in first.weights}, rounding, digits)
    frozen = {w["name"] for w in first.weights if w["frozen"]}
    names = [w["name"] for w in first.weights]
    blocks, values = [], []
    for trace in traces:
        per_example, recorded = [], {"examples": []}
        for number, example in enumerate(trace.examples, start=1):
            where = f"Step {trace.step}" + (f", example {number}" if len(trace.examples) > 1
                                            else "")
            hand.engine = _engine_values(trace, number - 1) if from_engine else {}
            t = _targets(hand, example["target"])
            z, o, forward = _forward(hand, example["input"])
            loss, loss_line = _loss(hand, o, t)
            errors, output_lines = _output_errors(hand, z, o, t)
            hidden_lines = _hidden_errors(hand, z, o, errors)
            gradients, gradient_lines = _gradients(hand, o, errors)
            per_example.append(gradients)
            recorded["examples"].append({"z": z, "o": o, "e": errors, "E": loss,
                                         "gradient": gradients})
            blocks += [Heading(f"{where}: forward pass"),
                       Derivation(forward, Math(Text("Net inputs "), Sym("z", "j"),
                                                Text(" and activations "), Sym("o", "j"))),
                       Derivation([loss_line], Math(Text("The error "), Sym("E"))),
                       Heading(f"{where}: backward pass"),
                       Derivation(output_lines + hidden_lines, Math(
                           Text("Error terms "), Sym("e", "j"), EQ,
                           Partial(Sym("E"), Sym("z", "j")), Text(", by the chain rule"))),
                       Derivation(gradient_lines, Math(
                           Text("Gradients "), Partial(Sym("E"), Sym("w", "ij")), EQ,
                           Sym("e", "j"), TIMES, Sym("o", "i")))]
        if len(per_example) > 1:
            mean, mean_lines = _mean_lines(hand, per_example, names)
            blocks.append(Derivation(mean_lines, "The mean gradient over the batch (batch "
                                                 "and mini-batch gradient descent)"))
        else:
            mean = per_example[0]
        update_lines = []
        for name in names:
            if name in frozen:
                update_lines.append(Math(_symbol(name), EQ, hand.given(hand.weights[name]),
                                         Text(" (frozen)")))
                continue
            hand.weights[name], lines = _update(hand, name, mean[name], trace.step)
            update_lines += lines
        recorded["gradient"] = mean
        recorded["new_value"] = dict(hand.weights)
        recorded["state"] = {name: dict(state) for name, state in hand.state.items()}
        blocks += [Heading(f"Step {trace.step}: update"),
                   Derivation(update_lines, _update_caption(hand.optimizer))]
        values.append(recorded)
    return blocks, values


def _update_caption(optimizer):
    settings = ", ".join(f"{key} {value}" for key, value in optimizer.items()
                         if key not in ("name", "decoupled") and value not in (0, 0.0, False))
    return f"The update ({optimizer['name']}: {settings})"
