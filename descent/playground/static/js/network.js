// The network view: features, hidden layers and outputs as small maps (painted from the
// server's unit maps), links coloured by the weight's sign and as wide as |w|, and the
// controls of each hidden layer. Units are numbered as the notes number them: the
// inputs 1..n, then each layer's units in turn.

import {decode, diverging, paint, weightColor} from "./colors.js";
import {name} from "./controls.js";

const SVG = "http://www.w3.org/2000/svg";
const FEATURE_LABELS = {"x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁X₂",
                        "sin(x1)": "sin(X₁)", "sin(x2)": "sin(X₂)"};
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const HEAD = 74;  // room above the units for each layer's controls

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

export class NetworkView {
  constructor(container, handlers) {
    this.container = container;
    this.handlers = handlers;  // onChange(settings), onUnit(layer, index, node), onLink(layer, i, j, event)
    this.structure = null;
    this.allFeatures = [];
    this.weights = null;
    this.height = 0;
    new ResizeObserver(() => {  // the explanation panel opening, a smaller window
      if (this.structure && this.container.clientHeight !== this.height) this.render();
    }).observe(container);
  }

  setStructure(structure, settings, choices) {
    this.structure = structure;
    this.settings = settings;
    this.choices = choices;
    this.allFeatures = choices.features;
    this.render();
  }

  setSettings(settings) {
    this.settings = settings;
  }

  // where the unit (layer, index) sits; layer 0 lists every feature, active or not
  position(layer, index) {
    return this.positions[layer][index];
  }

  render() {
    const {sizes, features} = this.structure;
    const width = this.container.clientWidth;
    const height = this.container.clientHeight;
    this.height = height;
    const columns = sizes.length;
    const rows = Math.max(this.allFeatures.length, ...sizes.slice(1));
    const size = Math.max(12, Math.min(40, Math.floor((height - HEAD - 8) / (rows * 1.32))));
    const gap = size * 1.32;
    const left = 78;
    const right = width - size - 14;
    const xs = Array.from({length: columns}, (_, c) => left + (right - left) * c / (columns - 1));
    this.size = size;
    this.container.replaceChildren();
    const svg = document.createElementNS(SVG, "svg");
    this.container.append(svg);
    this.units = [];
    this.positions = [];
    // the features column: all of them, the chosen ones switched on
    const active = [];
    this.positions.push([]);
    this.allFeatures.forEach((feature, row) => {
      const on = features.includes(feature);
      const box = this.unitBox(xs[0], HEAD + row * gap, size, `feature-${feature}`);
      box.classList.add("feature");
      box.classList.toggle("off", !on);
      box.title = on ? `${FEATURE_LABELS[feature]}: click to leave it out` : `click to add ${FEATURE_LABELS[feature]}`;
      box.append(element("span", {class: "name"}, FEATURE_LABELS[feature]));
      box.addEventListener("click", () => this.toggleFeature(feature));
      if (on) {
        box.append(element("span", {class: "number"}, String(active.length + 1)));
        active.push(box);
        this.positions[0].push([xs[0], HEAD + row * gap]);
      }
    });
    this.units.push(active);
    let number = features.length;
    for (let layer = 1; layer < columns; layer++) {
      const boxes = [];
      this.positions.push([]);
      const top = HEAD + (rows - sizes[layer]) * gap / 2 * (layer === columns - 1 ? 1 : 0);
      for (let index = 0; index < sizes[layer]; index++) {
        const y = top + index * gap;
        const box = this.unitBox(xs[layer], y, size, `unit-${layer}-${index}`);
        number += 1;
        box.append(element("span", {class: "number"}, String(number)));
        box.addEventListener("click", () => this.handlers.onUnit(layer, index, box));
        boxes.push(box);
        this.positions[layer].push([xs[layer], y]);
      }
      this.units.push(boxes);
      this.container.append(this.layerHead(layer, xs[layer], xs[1] - xs[0]));
    }
    this.links = [];
    for (let layer = 1; layer < columns; layer++) {
      const paths = [];
      this.positions[layer - 1].forEach(([x0, y0], i) => {
        const row = [];
        this.positions[layer].forEach(([x1, y1], j) => {
          const a = [x0 + size, y0 + size / 2];
          const b = [x1, y1 + size / 2];
          const middle = (a[0] + b[0]) / 2;
          const d = `M${a[0]},${a[1]} C${middle},${a[1]} ${middle},${b[1]} ${b[0]},${b[1]}`;
          const path = document.createElementNS(SVG, "path");
          path.setAttribute("d", d);
          path.setAttribute("class", "link");
          path.setAttribute("data-testid", `link-${layer}-${i}-${j}`);
          const hit = document.createElementNS(SVG, "path");
          hit.setAttribute("d", d);
          hit.setAttribute("class", "hit");
          hit.addEventListener("click", (event) => this.handlers.onLink(layer, i, j, event));
          path.addEventListener("click", (event) => this.handlers.onLink(layer, i, j, event));
          svg.append(path, hit);
          row.push(path);
        });
        paths.push(row);
      });
      this.links.push(paths);
    }
    document.getElementById("layer-count").textContent = String(sizes.length - 2);
    if (this.weights) this.update({weights: this.weights, units: this.maps});
  }

  unitBox(x, y, size, testid) {
    const box = element("div", {class: "unit", "data-testid": testid});
    Object.assign(box.style, {left: `${x}px`, top: `${y}px`, width: `${size}px`, height: `${size}px`});
    box.append(element("canvas", {width: 20, height: 20}));
    this.container.append(box);
    return box;
  }

  layerHead(layer, x, spacing) {
    const {sizes, activations, dropout} = this.structure;
    const output = layer === sizes.length - 1;
    const head = element("div", {class: "layer-head"});
    head.style.left = `${x + this.size / 2}px`;
    if (output) {
      head.append(element("div", {}, `${sizes[layer]} output${sizes[layer] > 1 ? "s" : ""}`),
                  element("div", {}, activations[layer - 1] === "identity" ? "no activation" : activations[layer - 1]));
      return head;
    }
    const hidden = layer - 1;
    const units = element("div", {class: "units"});
    const more = element("button", {class: "round tiny", "data-testid": `add-unit-${hidden}`, title: "Add a unit"}, "+");
    const fewer = element("button", {class: "round tiny", "data-testid": `remove-unit-${hidden}`, title: "Remove a unit"}, "−");
    more.addEventListener("click", () => this.resize(hidden, +1));
    fewer.addEventListener("click", () => this.resize(hidden, -1));
    const narrow = spacing < 100;
    units.append(more, fewer, narrow ? ` ${sizes[layer]}` : ` ${sizes[layer]} unit${sizes[layer] > 1 ? "s" : ""}`);
    units.title = `${sizes[layer]} units`;
    head.append(units);
    const activation = element("select", {"data-testid": `layer-activation-${hidden}`, title: "This layer's activation"});
    activation.replaceChildren(...this.choices.activations.map((a) => new Option(name(a), a)));
    activation.value = activations[hidden];
    activation.addEventListener("change", () => {
      const list = [...this.settings.activations];
      list[hidden] = activation.value;
      this.handlers.onChange({activations: list});
    });
    const drop = element("select", {"data-testid": `layer-dropout-${hidden}`, title: "Dropout after this layer"});
    const rates = DROPOUTS.includes(dropout[hidden]) ? DROPOUTS : [...DROPOUTS, dropout[hidden]];
    drop.replaceChildren(...rates.map((p) => new Option(p ? `dropout ${p}` : "no dropout", String(p))));
    drop.value = String(dropout[hidden]);
    drop.addEventListener("change", () => {
      const list = [...this.settings.dropout];
      list[hidden] = Number(drop.value);
      this.handlers.onChange({dropout: list});
    });
    for (const select of [activation, drop]) select.style.width = `${Math.min(84, spacing - 8)}px`;
    const selects = element("div", {class: "selects"});
    selects.append(activation, drop);
    head.append(selects);
    return head;
  }

  toggleFeature(feature) {
    const features = this.settings.features.includes(feature)
      ? this.settings.features.filter((f) => f !== feature)
      : [...this.settings.features, feature];
    if (features.length) this.handlers.onChange({features});
  }

  resize(hidden, change) {
    const list = [...this.settings.hidden];
    list[hidden] = Math.max(1, Math.min(this.choices.limits.units, list[hidden] + change));
    this.handlers.onChange({hidden: list});
  }

  addLayer() {
    const s = this.settings;
    if (s.hidden.length >= this.choices.limits.hidden_layers) return;
    const activation = s.activations.length ? s.activations[s.activations.length - 1] : "tanh";
    this.handlers.onChange({hidden: [...s.hidden, 2], activations: [...s.activations, activation],
                            dropout: [...s.dropout, 0]});
  }

  removeLayer() {
    const s = this.settings;
    if (!s.hidden.length) return;
    this.handlers.onChange({hidden: s.hidden.slice(0, -1), activations: s.activations.slice(0, -1),
                            dropout: s.dropout.slice(0, -1)});
  }

  // a frame: the weights and every unit's map
  update(frame) {
    this.weights = frame.weights;
    this.maps = frame.units;
    const largest = Math.max(1e-9, ...frame.weights.flat(2).map(Math.abs));
    frame.weights.forEach((matrix, l) => {
      matrix.forEach((row, i) => row.forEach((w, j) => {
        const path = this.links[l] && this.links[l][i] && this.links[l][i][j];
        if (!path) return;
        path.setAttribute("stroke", weightColor(w));
        path.setAttribute("stroke-width", String(0.4 + 5 * Math.min(1, Math.abs(w) / Math.max(1, largest))));
        path.setAttribute("stroke-opacity", "0.75");
      }));
    });
    const bytes = decode(frame.units.maps);
    const cells = frame.units.size * frame.units.size;
    let offset = 0;
    for (const boxes of this.units) {
      for (const box of boxes) {
        const start = offset;
        paint(box.querySelector("canvas"), frame.units.size, (i) => diverging(bytes[start + i]));
        offset += cells;
      }
    }
  }

  select(box) {
    for (const node of this.container.querySelectorAll(".unit.selected")) node.classList.remove("selected");
    if (box) box.classList.add("selected");
  }
}
