"""A small document model — a title, paragraphs and tables, plus raw data — and its
renderings as plain text, Markdown, LaTeX and JSON. Explanations and examples build a
``Report``; they never format output themselves."""

import json
import math
from dataclasses import dataclass, field

from descent.files.archive import json_safe
from descent.errors import lookup


@dataclass
class Table:
    headers: list
    rows: list
    caption: str = ""


@dataclass
class Report:
    """``blocks`` are strings (paragraphs) and ``Table``s; ``data`` is the JSON payload."""

    title: str
    blocks: list = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def add(self, *blocks):
        self.blocks.extend(blocks)
        return self

    def render(self, fmt="text"):
        """The report as ``"text"``, ``"markdown"``, ``"latex"`` or ``"json"``."""
        return lookup(RENDERERS, fmt, "format")(self)

    def __str__(self):
        return self.render("text")


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return str(value)


def _text(report):
    lines = [report.title, "=" * len(report.title)]
    for block in report.blocks:
        lines.append("")
        if isinstance(block, Table):
            if block.caption:
                lines.append(block.caption)
            rows = [[_cell(c) for c in row] for row in [block.headers, *block.rows]]
            widths = [max(len(row[i]) for row in rows) for i in range(len(block.headers))]
            for index, row in enumerate(rows):
                lines.append("  ".join(c.rjust(w) if index else c.ljust(w)
                                       for c, w in zip(row, widths)).rstrip())
                if index == 0:
                    lines.append("  ".join("-" * w for w in widths))
        else:
            lines.append(block)
    return "\n".join(lines) + "\n"


def _markdown(report):
    lines = [f"# {report.title}"]
    for block in report.blocks:
        lines.append("")
        if isinstance(block, Table):
            if block.caption:
                lines += [f"**{block.caption}**", ""]
            lines.append("| " + " | ".join(block.headers) + " |")
            lines.append("|" + "---|" * len(block.headers))
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
        else:
            lines.append(block)
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$",
                  "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def _tex(text):
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _latex(report):
    lines = [rf"\section*{{{_tex(report.title)}}}"]
    for block in report.blocks:
        lines.append("")
        if isinstance(block, Table):
            lines.append(r"\begin{tabular}{" + "l" + "r" * (len(block.headers) - 1) + "}")
            if block.caption:
                lines.append(rf"\multicolumn{{{len(block.headers)}}}{{l}}"
                             rf"{{\textbf{{{_tex(block.caption)}}}}} \\")
            lines.append(r"\hline")
            lines.append(" & ".join(_tex(h) for h in block.headers) + r" \\")
            lines.append(r"\hline")
            lines += [" & ".join(_tex(_cell(c)) for c in row) + r" \\" for row in block.rows]
            lines.append(r"\hline")
            lines.append(r"\end{tabular}")
        else:
            lines.append(_tex(block))
    return "\n".join(lines) + "\n"


def _json(report):
    return json.dumps({"title": report.title, **json_safe(report.data)}, indent=2) + "\n"


RENDERERS = {"text": _text, "markdown": _markdown, "latex": _latex, "json": _json}
