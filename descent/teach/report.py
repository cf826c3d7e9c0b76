"""A small document model — a title, headings, paragraphs, tables, derivations (lines of
formulas) and code — plus raw data, and its renderings as plain text, Markdown, LaTeX
(a fragment, a standalone article, or Beamer frames), HTML and JSON. Explanations and
examples build a ``Report``; they never format output themselves. In a notebook a report
shows itself (``_repr_html_``, ``_repr_markdown_``, ``_repr_latex_``).
"""

import html
import json
import math
from dataclasses import dataclass, field

from descent.files.archive import json_safe
from descent.errors import DescentValueError, lookup
from descent.teach.mathtext import Math


@dataclass
class Table:
    """Rows of cells; headers, cells and the caption may be strings or ``Math``."""

    headers: list
    rows: list
    caption: object = ""


@dataclass
class Heading:
    """A section heading (a new frame in Beamer)."""

    title: str


@dataclass
class Derivation:
    """Formulas, one per line, each written out as the notes write them; the caption may
    be a string or ``Math``."""

    lines: list
    caption: object = ""


@dataclass
class Code:
    """Verbatim text: a DOT graph, a model summary."""

    text: str
    language: str = ""


@dataclass(repr=False)
class Report:
    """``blocks`` are paragraphs (strings, or ``Math`` for a sentence with mathematics in
    it), ``Heading``, ``Table``, ``Derivation`` and ``Code`` blocks; ``data`` is the JSON
    payload."""

    title: str
    blocks: list = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def add(self, *blocks):
        self.blocks.extend(blocks)
        return self

    def render(self, fmt="text", standalone=False):
        """The report as ``"text"``, ``"markdown"``, ``"latex"``, ``"beamer"``, ``"html"``
        or ``"json"``. ``standalone`` makes LaTeX and Beamer a whole document that
        compiles on its own (``pdflatex``), and HTML a whole page."""
        renderer = lookup(RENDERERS, fmt, "format")
        if standalone and fmt not in STANDALONE_FORMATS:
            raise DescentValueError(f"only {', '.join(STANDALONE_FORMATS)} have a standalone "
                                    f"form; {fmt!r} is complete as it is")
        return renderer(self, standalone) if fmt in STANDALONE_FORMATS else renderer(self)

    def __str__(self):
        return self.render("text")

    def __repr__(self):
        return f"Report({self.title!r}, {len(self.blocks)} blocks)"

    def _repr_pretty_(self, printer, cycle):  # IPython's plain text: the report itself
        printer.text(self.render("text"))

    def _repr_html_(self):
        return self.render("html")

    def _repr_markdown_(self):
        return self.render("markdown")

    def _repr_latex_(self):
        return self.render("latex")


def _cell(value):
    if isinstance(value, Math):
        return value.text()
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return str(value)


# --------------------------------------------------------------------------- plain text
def _text(report):
    lines = [report.title, "=" * len(report.title)]
    for block in report.blocks:
        lines.append("")
        if isinstance(block, Heading):
            lines += [block.title, "-" * len(block.title)]
        elif isinstance(block, Table):
            if block.caption:
                lines.append(_cell(block.caption))
            rows = [[_cell(c) for c in row] for row in [block.headers, *block.rows]]
            widths = [max(len(row[i]) for row in rows) for i in range(len(block.headers))]
            for index, row in enumerate(rows):
                lines.append("  ".join(c.rjust(w) if index else c.ljust(w)
                                       for c, w in zip(row, widths)).rstrip())
                if index == 0:
                    lines.append("  ".join("-" * w for w in widths))
        elif isinstance(block, Derivation):
            if block.caption:
                lines.append(_cell(block.caption))
            lines += ["  " + line.text() for line in block.lines]
        elif isinstance(block, Code):
            lines.append(block.text.rstrip("\n"))
        else:
            lines.append(_cell(block))
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- Markdown
def _md_cell(value):
    if isinstance(value, Math):
        return f"${value.latex()}$"
    return _cell(value).replace("|", r"\|")


def _aligned(lines):
    """LaTeX lines of formulas aligned at their ``=``: the symbols on the first row, each
    further ``= ...`` (the numbers, the result) on a row of its own, so that a line fits
    the page."""
    rows = []
    for line in lines:
        parts = line.latex().split(" = ")
        if len(parts) == 1:
            rows.append("&" + parts[0])
            continue
        rows.append(f"{parts[0]} &= {parts[1]}")
        tail = parts[2:]
        if len(tail) > 1 and len(tail[-1]) < 24:  # the result joins the numbers
            tail = [*tail[:-2], f"{tail[-2]} = {tail[-1]}"]
        rows += [f"&= {part}" for part in tail]
    return rows


def _markdown(report):
    lines = [f"# {report.title}"]
    for block in report.blocks:
        lines.append("")
        if isinstance(block, Heading):
            lines.append(f"## {block.title}")
        elif isinstance(block, Table):
            if block.caption:
                lines += [f"**{_md_cell(block.caption)}**", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "---|" * len(block.headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        elif isinstance(block, Derivation):
            if block.caption:
                lines += [f"**{_md_cell(block.caption)}**", ""]
            lines += ["$$", r"\begin{aligned}", " \\\\\n".join(_aligned(block.lines)),
                      r"\end{aligned}", "$$"]
        elif isinstance(block, Code):
            lines += [f"```{block.language}", block.text.rstrip("\n"), "```"]
        else:
            lines.append(_md_cell(block) if isinstance(block, Math) else block)
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------- LaTeX
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$",
                  "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}
# Symbols the notes' prose uses, as LaTeX that pdflatex knows without extra packages.
_LATEX_SYMBOLS = {"·": r"$\cdot$", "σ": r"$\sigma$", "η": r"$\eta$", "−": "-",
                  "←": r"$\leftarrow$", "→": r"$\rightarrow$", "≤": r"$\leq$",
                  "≥": r"$\geq$", "²": r"\textsuperscript{2}", "½": r"$\frac{1}{2}$",
                  "∂": r"$\partial$", "Σ": r"$\Sigma$", "ε": r"$\varepsilon$",
                  "β": r"$\beta$", "μ": r"$\mu$", "√": r"$\surd$", "×": r"$\times$",
                  "≈": r"$\approx$", "λ": r"$\lambda$", "α": r"$\alpha$", "δ": r"$\delta$",
                  "ᵗ": r"\textsuperscript{t}", "₁": r"\textsubscript{1}",
                  "₂": r"\textsubscript{2}", "–": "--", "—": "---", "…": r"\dots{}",
                  "’": "'", "“": "``", "”": "''", "Δ": r"$\Delta$", "γ": r"$\gamma$",
                  "θ": r"$\theta$", "π": r"$\pi$", "τ": r"$\tau$", "ω": r"$\omega$",
                  "φ": r"$\phi$", "∇": r"$\nabla$", "∑": r"$\sum$", "ŷ": r"$\hat{y}$",
                  "⋮": r"$\vdots$", "≠": r"$\neq$", "∞": r"$\infty$"}


def _tex(text):
    """Prose as LaTeX: special characters escaped, the notes' symbols and arrows as
    mathematics, and any other character beyond Latin-1 (which T1 fonts lack) as ``?``."""
    text = str(text).replace("<-", "←").replace("->", "→")
    written = "".join(_LATEX_SPECIAL.get(ch) or _LATEX_SYMBOLS.get(ch)
                      or (ch if ord(ch) < 256 else "?") for ch in text)
    return written.replace("--", "-{}-")  # an option such as --steps, not a dash


def _tex_cell(value):
    return f"${value.latex()}$" if isinstance(value, Math) else _tex(_cell(value))


def _latex_table(block):
    lines = [r"\begin{tabular}{" + "l" + "r" * (len(block.headers) - 1) + "}"]
    if block.caption:
        lines.append(rf"\multicolumn{{{len(block.headers)}}}{{l}}"
                     rf"{{\textbf{{{_tex_cell(block.caption)}}}}} \\")
    lines += [r"\hline", " & ".join(_tex_cell(h) for h in block.headers) + r" \\", r"\hline"]
    lines += [" & ".join(_tex_cell(c) for c in row) + r" \\" for row in block.rows]
    lines += [r"\hline", r"\end{tabular}"]
    return lines


def _latex_derivation(block):
    lines = [rf"\noindent\textbf{{{_tex_cell(block.caption)}}}"] if block.caption else []
    return lines + [r"\begin{align*}", " \\\\\n".join(_aligned(block.lines)), r"\end{align*}"]


def _latex_block(block, heading=r"\subsection*"):
    if isinstance(block, Heading):
        return [rf"{heading}{{{_tex(block.title)}}}"]
    if isinstance(block, Table):
        return _latex_table(block)
    if isinstance(block, Derivation):
        return _latex_derivation(block)
    if isinstance(block, Code):
        return [r"\begin{verbatim}", block.text.rstrip("\n"), r"\end{verbatim}"]
    return [_tex_cell(block)]


PREAMBLE = (r"\documentclass{article}", r"\usepackage[utf8]{inputenc}",
            r"\usepackage[T1]{fontenc}", r"\usepackage{lmodern}", r"\usepackage{amsmath}",
            r"\allowdisplaybreaks", r"\usepackage[margin=2cm]{geometry}",
            r"\setlength{\parindent}{0pt}")


def _latex(report, standalone=False):
    lines = [rf"\section*{{{_tex(report.title)}}}"]
    for block in report.blocks:
        lines.append("")
        lines += _latex_block(block)
    text = "\n".join(lines) + "\n"
    return latex_document(text) if standalone else text


def latex_document(body):
    """LaTeX fragments (such as reports rendered one after the other) as one document."""
    return "\n".join([*PREAMBLE, r"\begin{document}", body.rstrip("\n"),
                      r"\end{document}"]) + "\n"


# A frame holds this many derivation lines or table rows; longer blocks go on to the next.
FRAME_LINES = 8


def _frame_chunks(block):
    if isinstance(block, Derivation):
        return [Derivation(block.lines[i:i + FRAME_LINES], block.caption)
                for i in range(0, len(block.lines), FRAME_LINES)] or [block]
    if isinstance(block, Table):
        return [Table(block.headers, block.rows[i:i + FRAME_LINES], block.caption)
                for i in range(0, len(block.rows), FRAME_LINES)] or [block]
    return [block]


def _size(block):
    if isinstance(block, Derivation):
        return len(block.lines) + 1
    if isinstance(block, Table):
        return len(block.rows) + 2
    if isinstance(block, Code):
        return block.text.count("\n") + 1
    return 2


def _beamer(report, standalone=False):
    """Frames of at most ``FRAME_LINES`` lines (a longer derivation or table goes on in the
    next), titled by the heading above them."""
    frames, title, current = [], report.title, []

    def close():
        if current:
            frames.append((title, list(current)))
            current.clear()

    for block in report.blocks:
        if isinstance(block, Heading):
            close()
            title = block.title
            continue
        for chunk in _frame_chunks(block):
            if current and sum(map(_size, current)) + _size(chunk) > FRAME_LINES + 2:
                close()
            current.append(chunk)
    close()
    lines = []
    for frame_title, blocks in frames:
        options = "[fragile]" if any(isinstance(b, Code) for b in blocks) else ""
        lines += [rf"\begin{{frame}}{options}{{{_tex(frame_title)}}}", r"\scriptsize"]
        for block in blocks:
            lines += _latex_block(block) + [""]
        lines.append(r"\end{frame}")
        lines.append("")
    if standalone:
        lines = [r"\documentclass{beamer}", *PREAMBLE[1:5], r"\date{}",
                 rf"\title{{{_tex(report.title)}}}",
                 r"\begin{document}", r"\begin{frame}", r"\titlepage", r"\end{frame}", "",
                 *lines, r"\end{document}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------- HTML
def _html_cell(value, typeset=True):
    """A cell as HTML; mathematics as ``\\(...\\)`` for a notebook's MathJax to typeset, or
    (``typeset=False``: a page on its own, which loads no script) as its plain text."""
    if isinstance(value, Math):
        return rf"\({html.escape(value.latex())}\)" if typeset else html.escape(value.text())
    return html.escape(_cell(value))


def _html(report, standalone=False):
    def cell(value):
        return _html_cell(value, typeset=not standalone)

    parts = [f"<h3>{html.escape(report.title)}</h3>"]
    for block in report.blocks:
        if isinstance(block, Heading):
            parts.append(f"<h4>{html.escape(block.title)}</h4>")
        elif isinstance(block, Table):
            caption = f"<caption>{cell(block.caption)}</caption>" if block.caption else ""
            head = "".join(f"<th>{cell(h)}</th>" for h in block.headers)
            body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>"
                           for row in block.rows)
            parts.append(f"<table>{caption}<thead><tr>{head}</tr></thead>"
                         f"<tbody>{body}</tbody></table>")
        elif isinstance(block, Derivation):
            caption = f"<p><b>{cell(block.caption)}</b></p>" if block.caption else ""
            parts.append(caption + "<div>" + "".join(
                f"<div>{cell(line)}</div>" for line in block.lines)
                + "</div>")
        elif isinstance(block, Code):
            parts.append(f"<pre>{html.escape(block.text)}</pre>")
        else:
            parts.append(f"<p>{cell(block)}</p>")
    body = "\n".join(parts)
    if standalone:
        return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
                f"{html.escape(report.title)}</title></head><body>\n{body}\n</body></html>\n")
    return f"<div class=\"descent-report\">\n{body}\n</div>\n"


def _json(report):
    return json.dumps({"title": report.title, **json_safe(report.data)}, indent=2) + "\n"


RENDERERS = {"text": _text, "markdown": _markdown, "latex": _latex, "beamer": _beamer,
             "html": _html, "json": _json}
STANDALONE_FORMATS = ("latex", "beamer", "html")
