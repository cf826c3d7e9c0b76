// "Explain step": the server's derivation of the next update, in the notes' notation,
// and a popover with the numbers of the unit or link clicked (z, o, e, ∂E/∂w and the
// new value), where its weight or bias can also be edited.

const $ = (selector) => document.querySelector(selector);
const fixed = (v) => (v === null || v === undefined ? "–" : Number(v).toPrecision(5));

export class Explainer {
  constructor(handlers) {
    this.handlers = handlers;  // request(example), edit(message), onClose()
    this.panel = $("#explain");
    this.popover = $("#popover");
    this.text = $("[data-testid=explanation]");
    this.result = null;
    this.structure = null;
    this.frame = null;
    $("[data-testid=explain-close]").addEventListener("click", () => this.close());
    $("[data-testid=explain-example]").addEventListener("change", () => this.ask());
    for (const radio of document.querySelectorAll("input[name=explain-on]")) {
      radio.addEventListener("change", () => this.ask());
    }
  }

  get open() {
    return !this.panel.hidden;
  }

  setStructure(structure) {
    this.structure = structure;
    this.result = null;
    this.hidePopover();
    if (this.open) this.text.textContent = "The network changed: explain again.";
  }

  setFrame(frame) {
    this.frame = frame;
  }

  show() {
    this.panel.hidden = false;
    this.panel.closest(".column").classList.add("explaining");
    this.ask();
  }

  close() {
    this.panel.hidden = true;
    this.panel.closest(".column").classList.remove("explaining");
    this.result = null;
    this.hidePopover();
    this.handlers.onClose();
  }

  pick(index) {
    $("[data-testid=explain-example]").value = String(index);
    document.querySelector("input[name=explain-on][value=point]").checked = true;
    this.ask();
  }

  ask() {
    const batch = document.querySelector("input[name=explain-on]:checked").value === "batch";
    const example = batch ? "batch" : Math.max(0, Math.round(Number($("[data-testid=explain-example]").value)));
    this.text.textContent = "Working it out…";
    this.handlers.request(example);
  }

  received(result) {
    this.result = result;
    this.text.textContent = result.text;
    this.text.scrollTop = 0;
  }

  stale() {
    if (this.result) {
      this.result = null;
      this.text.textContent = "The weights changed since: explain again for the new numbers.";
    }
  }

  // the notes' number of unit (layer, index): inputs 1..n, then layer after layer
  number(layer, index) {
    return this.structure.sizes.slice(0, layer).reduce((a, b) => a + b, 0) + index + 1;
  }

  unit(layer, index) {
    return this.result && this.result.units.find((u) => u.layer === layer && u.index === index);
  }

  parameter(kind, layer, to, from) {
    return this.result && this.result.parameters.find((p) => p.kind === kind && p.layer === layer
      && p.to === to && (kind === "bias" || p.from === from));
  }

  showUnit(layer, index, anchor) {
    const j = this.number(layer, index);
    const rows = [];
    const unit = this.unit(layer, index);
    if (unit) rows.push([`z${j} (net input)`, fixed(unit.z)], [`o${j} (activation)`, fixed(unit.o)],
                        [`e${j} = ∂E/∂z${j}`, fixed(unit.e)]);
    const bias = this.parameter("bias", layer, index);
    const value = this.frame ? this.frame.biases[layer - 1][index] : null;
    if (bias) rows.push([`b${j}`, fixed(bias.value)], [`∂E/∂b${j}`, fixed(bias.gradient)],
                        [`b${j} after the update`, fixed(bias.new_value)]);
    this.place(anchor, `Unit ${j}`, rows, `b${j}`, value,
               (v) => this.handlers.edit({type: "set_bias", layer, to: index, value: v}));
  }

  showLink(layer, from, to, event) {
    const i = this.number(layer - 1, from);
    const j = this.number(layer, to);
    const rows = [];
    const weight = this.parameter("weight", layer, to, from);
    const source = this.unit(layer - 1, from);
    const target = this.unit(layer, to);
    if (weight) {
      rows.push([`w${i},${j}`, fixed(weight.value)]);
      if (source && target && this.result.examples === 1) {
        rows.push([`o${i} · e${j}`, `${fixed(source.o)} · ${fixed(target.e)}`]);
      }
      rows.push([`∂E/∂w${i},${j}`, fixed(weight.gradient)], [`w${i},${j} after the update`, fixed(weight.new_value)]);
    }
    const value = this.frame ? this.frame.weights[layer - 1][from][to] : null;
    this.place(event, `Link from unit ${i} to unit ${j}`, rows, `w${i},${j}`, value,
               (v) => this.handlers.edit({type: "set_weight", layer, from, to, value: v}));
  }

  place(where, title, rows, name, value, onSet) {
    const column = this.popover.parentElement.getBoundingClientRect();
    const point = where instanceof Event ? {x: where.clientX, y: where.clientY}
      : (() => { const box = where.getBoundingClientRect(); return {x: box.right, y: box.top}; })();
    this.popover.replaceChildren();
    const close = document.createElement("button");
    close.className = "close";
    close.textContent = "×";
    close.addEventListener("click", () => this.hidePopover());
    const heading = document.createElement("b");
    heading.textContent = title;
    const table = document.createElement("table");
    for (const [label, shown] of rows) {
      const row = table.insertRow();
      row.insertCell().textContent = label;
      row.insertCell().textContent = shown;
    }
    const edit = document.createElement("div");
    const input = document.createElement("input");
    input.type = "number";
    input.step = "0.01";
    input.value = value === null ? "" : String(value);
    input.setAttribute("data-testid", "edit-value");
    const set = document.createElement("button");
    set.textContent = "set";
    set.setAttribute("data-testid", "edit-set");
    set.addEventListener("click", () => {
      const number = Number(input.value);
      if (input.value !== "" && Number.isFinite(number)) onSet(number);
    });
    edit.append(`${name} = `, input, " ", set);
    const hint = document.createElement("div");
    hint.className = "hint";
    hint.textContent = this.result ? "" : "Pause and explain a step to see z, o, e and the gradients.";
    this.popover.append(close, heading, table, edit, hint);
    this.popover.hidden = false;
    const left = Math.min(point.x - column.left + 8, column.width - 200);
    this.popover.style.left = `${Math.max(0, left)}px`;
    this.popover.style.top = `${Math.max(0, point.y - column.top - 10)}px`;
  }

  hidePopover() {
    this.popover.hidden = true;
  }
}
