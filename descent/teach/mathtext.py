"""Formulas in the lecture notes' notation, written once and rendered as plain text or as
LaTeX: symbols with subscripts (w46, w_{46}), numbers, operators, fractions, partial
derivatives, functions and powers. A formula is a ``Math``: a sequence of these terms.

Examples
--------
>>> line = Math(Sym("e", "5"), EQ, Sym("e", "6"), TIMES, Sym("w", "56"), EQ, Num("0.0065"))
>>> line.text()
'e5 = e6 · w56 = 0.0065'
>>> line.latex()
'e_{5} = e_{6} \\\\cdot w_{56} = 0.0065'
"""

from dataclasses import dataclass

GREEK = {"eta": ("η", r"\eta"), "mu": ("μ", r"\mu"), "alpha": ("α", r"\alpha"),
         "beta": ("β", r"\beta"), "epsilon": ("ε", r"\varepsilon"),
         "lambda": ("λ", r"\lambda"), "sigma": ("σ", r"\sigma"), "rho": ("ρ", r"\rho"),
         "Sigma": ("Σ", r"\Sigma")}

_SUPERSCRIPTS = str.maketrans("0123456789t-", "⁰¹²³⁴⁵⁶⁷⁸⁹ᵗ⁻")


@dataclass(frozen=True)
class Sym:
    """A symbol such as w46, e_5, m̂ or β₁ᵗ: a base, an optional subscript and superscript;
    ``of`` names the weight a state belongs to (m[w46], ``m_{w_{46}}``)."""

    base: str
    sub: str = ""
    sup: str = ""
    hat: bool = False
    bar: bool = False
    of: str = ""

    def text(self):
        base = GREEK.get(self.base, (self.base,))[0]
        mark = "\u0302" if self.hat else "\u0304" if self.bar else ""
        sup = self.sup.translate(_SUPERSCRIPTS) if self.sup else ""
        of = f"[{self.of}]" if self.of else ""
        # digits follow the letter (w46, e5); a letter index reads better apart (z_j)
        sub = self.sub if not self.sub or self.sub[0].isdigit() else f"_{self.sub}"
        return f"{base}{mark}{sub}{sup}{of}"

    def latex(self):
        base = GREEK[self.base][1] if self.base in GREEK else (
            self.base if len(self.base) == 1 else rf"\mathrm{{{self.base}}}")
        if self.hat:
            base = rf"\hat{{{base}}}"
        elif self.bar:
            base = rf"\bar{{{base}}}"
        sub = f"_{{{self.sub}}}" if self.sub else ""
        if self.of:  # the state of one weight: m_{w_{46}}
            sub = f"_{{{Sym(self.of[0], self.of[1:]).latex()}}}"
        sup = f"^{{{self.sup}}}" if self.sup else ""
        return base + sub + sup


@dataclass(frozen=True)
class Num:
    """A number, already written out with the digits it should show."""

    value: str

    def text(self):
        return self.value

    def latex(self):
        if "e" in self.value:  # 3.2e-06 -> 3.2 \times 10^{-6}
            mantissa, exponent = self.value.split("e")
            return rf"{mantissa} \times 10^{{{int(exponent)}}}"
        return self.value

    @property
    def negative(self):
        return self.value.startswith("-")


@dataclass(frozen=True)
class Op:
    """An operator between terms: ``*``, ``+``, ``-``, ``=``, ``/``, ``<-``, or ``neg`` (a
    minus sign in front)."""

    kind: str

    def text(self):
        return {"*": " · ", "+": " + ", "-": " - ", "=": " = ", "/": " / ",
                "<-": " ← ", "neg": "-"}[self.kind]

    def latex(self):
        return {"*": r" \cdot ", "+": " + ", "-": " - ", "=": " = ", "/": " / ",
                "<-": r" \leftarrow ", "neg": "-"}[self.kind]


TIMES, PLUS, MINUS, EQ, OVER, GETS, NEG = (Op(k) for k in ("*", "+", "-", "=", "/", "<-",
                                                           "neg"))


@dataclass(frozen=True)
class Text:
    """Words inside a formula (``\\text{...}`` in LaTeX)."""

    words: str

    def text(self):
        return self.words

    def latex(self):
        escaped = "".join(_TEXT_SPECIAL.get(ch, ch) for ch in self.words)
        return rf"\text{{{escaped}}}"


_TEXT_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}"}


class Math:
    """A formula: a sequence of terms, rendered with ``text()`` or ``latex()``."""

    def __init__(self, *terms):
        self.terms = tuple(terms)

    def __add__(self, other):
        return Math(*self.terms, *_as_math(other).terms)

    def __eq__(self, other):
        return isinstance(other, Math) and self.terms == other.terms

    def __hash__(self):
        return hash(self.terms)

    def __repr__(self):
        return f"Math({self.text()!r})"

    def text(self):
        parts, previous = [], None
        for term in self.terms:
            if isinstance(term, Sum) and isinstance(previous, Frac):
                parts.append(" ")  # 1/2 Σ_k, not 1/2Σ_k
            parts.append(term.text())
            previous = term
        return "".join(parts)

    def latex(self):
        parts, previous = [], None
        for term in self.terms:
            written = term.latex()
            # a negative number after an operator reads as one: 0.9 \cdot (-0.0435)
            first = term.terms[0] if isinstance(term, Math) and term.terms else term
            if isinstance(first, Num) and first.negative and isinstance(previous, Op) \
                    and previous.kind != "=":
                written = f"({written})" if first is term else \
                    f"({first.latex()})" + written[len(first.latex()):]
            parts.append(written)
            previous = term
        return "".join(parts)


def _as_math(value):
    return value if isinstance(value, Math) else Math(value)


@dataclass(frozen=True)
class Group:
    """A formula in parentheses."""

    inner: Math

    def text(self):
        return f"({self.inner.text()})"

    def latex(self):
        return rf"\left({self.inner.latex()}\right)"


@dataclass(frozen=True)
class Frac:
    """A fraction: ``a / b`` in text (parenthesised where needed), ``\\frac{a}{b}`` in LaTeX."""

    top: Math
    bottom: Math

    def text(self):
        def side(part):
            written = part.text()
            return f"({written})" if len(part.terms) > 1 else written
        return f"{side(self.top)}/{side(self.bottom)}"

    def latex(self):
        return rf"\frac{{{self.top.latex()}}}{{{self.bottom.latex()}}}"


@dataclass(frozen=True)
class Partial:
    """A partial derivative ∂E/∂w46."""

    of: Sym
    by: Sym

    def text(self):
        return f"∂{self.of.text()}/∂{self.by.text()}"

    def latex(self):
        return rf"\frac{{\partial {self.of.latex()}}}{{\partial {self.by.latex()}}}"


FUNCTIONS = {"sigmoid": ("σ", r"\sigma"), "tanh": ("tanh", r"\tanh"),
             "relu": ("ReLU", r"\operatorname{ReLU}"),
             "leaky_relu": ("LeakyReLU", r"\operatorname{LeakyReLU}"),
             "elu": ("ELU", r"\operatorname{ELU}"), "step": ("step", r"\operatorname{step}"),
             "identity": ("id", r"\operatorname{id}"),
             "softmax": ("softmax", r"\operatorname{softmax}"), "exp": ("exp", r"\exp"),
             "ln": ("ln", r"\ln"), "sign": ("sign", r"\operatorname{sign}"),
             "max": ("max", r"\max"), "abs": ("abs", r"\operatorname{abs}")}


@dataclass(frozen=True)
class Fn:
    """A function applied to an argument: σ(z4), ReLU(-0.7), √v̂."""

    name: str
    argument: Math
    prime: bool = False

    def text(self):
        if self.prime:
            return f"{FUNCTIONS[self.name][0]}'({self.argument.text()})"
        if self.name == "sqrt":
            return f"√{Group(self.argument).text()}" if len(self.argument.terms) > 1 \
                else f"√{self.argument.text()}"
        return f"{FUNCTIONS[self.name][0]}({self.argument.text()})"

    def latex(self):
        if self.prime:
            return rf"{FUNCTIONS[self.name][1]}'\left({self.argument.latex()}\right)"
        if self.name == "sqrt":
            return rf"\sqrt{{{self.argument.latex()}}}"
        return rf"{FUNCTIONS[self.name][1]}\left({self.argument.latex()}\right)"


@dataclass(frozen=True)
class Pow:
    """A power: (1 - 0.474)² in text, ``{(1 - 0.474)}^{2}`` in LaTeX."""

    base: object
    exponent: str

    def text(self):
        return self.base.text() + self.exponent.translate(_SUPERSCRIPTS)

    def latex(self):
        return f"{{{self.base.latex()}}}^{{{self.exponent}}}"


@dataclass(frozen=True)
class Sum:
    """The summation sign over an index: Σ_i in text, ``\\sum_{i}`` in LaTeX."""

    index: str

    def text(self):
        return f"Σ_{self.index} "

    def latex(self):
        return rf"\sum_{{{self.index}}} "


HALF = Frac(Math(Num("1")), Math(Num("2")))


def written(value, digits=4, strip=True):
    """``value`` with ``digits`` decimals, as the notes print it: trailing zeros dropped
    (``strip``), never ``-0.0000``, and a value too small to show in fixed point in
    scientific notation rather than as 0.

    Examples
    --------
    >>> written(-0.26085, 3), written(-0.00001), written(0.2), written(-0.00000), written(1e-6)
    ('-0.261', '-1e-05', '0.2', '0', '1e-06')
    """
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value != 0 and abs(value) < 0.5 * 10.0 ** -digits:
        return f"{value:.{max(digits - 3, 1)}g}"
    text = f"{value:.{digits}f}"
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")
    return text
