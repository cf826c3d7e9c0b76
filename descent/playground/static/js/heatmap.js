// The output heatmap: the server's 100 × 100 map of what the network outputs, the
// training points on it (and the test points, if asked), and clicks on it.

import {CLASS_COLORS, classShade, decode, diverging, paint} from "./colors.js";

export class Heatmap {
  constructor(canvas, onClick) {
    this.canvas = canvas;
    this.image = document.createElement("canvas");
    this.data = null;
    this.output = null;
    this.showTest = false;
    this.discretize = false;
    this.highlight = [];
    const ratio = window.devicePixelRatio || 1;
    this.width = canvas.clientWidth || 330;
    canvas.width = this.width * ratio;
    canvas.height = this.width * ratio;
    this.context = canvas.getContext("2d");
    this.context.scale(ratio, ratio);
    canvas.addEventListener("click", (event) => {
      if (!this.data) return;
      const box = canvas.getBoundingClientRect();
      const [x1From, x1To, x2From, x2To] = this.data.domain;
      const x = x1From + (event.clientX - box.left) / box.width * (x1To - x1From);
      const y = x2To - (event.clientY - box.top) / box.height * (x2To - x2From);
      onClick(x, y);
    });
  }

  setData(data) {
    this.data = data;
    this.draw();
  }

  setOutput(output) {
    this.output = output;
    this.paintOutput();
    this.draw();
  }

  setOptions(options) {
    Object.assign(this, options);
    this.paintOutput();
    this.draw();
  }

  // the training point nearest to (x, y), or -1
  nearest(x, y) {
    let best = -1;
    let distance = Infinity;
    (this.data ? this.data.train : []).forEach(([a, b], index) => {
      const d = (a - x) ** 2 + (b - y) ** 2;
      if (d < distance) [best, distance] = [index, d];
    });
    return best;
  }

  paintOutput() {
    const output = this.output;
    if (!output) return;
    if (output.classes) {
      const classes = decode(output.classes);
      const sure = decode(output.confidence);
      paint(this.image, output.size, (i) => classShade(classes[i], this.discretize ? 1 : sure[i] / 255));
    } else {
      const values = decode(output.values);
      paint(this.image, output.size, (i) => diverging(this.discretize ? (values[i] < 128 ? 0 : 255) : values[i]));
    }
  }

  pointColor(label) {
    if (this.data.problem === "classification") return CLASS_COLORS[label % CLASS_COLORS.length];
    const [low, high] = this.data.target_range;
    const [r, g, b] = diverging(Math.max(0, Math.min(255, (label - low) / (high - low) * 255)));
    return `rgb(${r},${g},${b})`;
  }

  draw() {
    const c = this.context;
    const w = this.width;
    c.clearRect(0, 0, w, w);
    if (this.output) {
      c.imageSmoothingEnabled = true;
      c.drawImage(this.image, 0, 0, w, w);
    }
    if (!this.data) return;
    const [x1From, x1To, x2From, x2To] = this.data.domain;
    const at = ([x, y]) => [(x - x1From) / (x1To - x1From) * w, (x2To - y) / (x2To - x2From) * w];
    const dot = (point, stroke) => {
      const [px, py] = at(point);
      c.beginPath();
      c.arc(px, py, 3.4, 0, 2 * Math.PI);
      c.fillStyle = this.pointColor(point[2]);
      c.fill();
      c.lineWidth = 1;
      c.strokeStyle = stroke;
      c.stroke();
    };
    const edge = this.data.problem === "classification" ? "#fff" : "#777";
    for (const point of this.data.train) dot(point, edge);
    if (this.showTest) for (const point of this.data.test) dot(point, "#000");
    c.lineWidth = 2;
    c.strokeStyle = "#000";
    for (const index of this.highlight) {
      const point = this.data.train[index];
      if (!point) continue;
      const [px, py] = at(point);
      c.beginPath();
      c.arc(px, py, 7, 0, 2 * Math.PI);
      c.stroke();
    }
    this.axes(at);
  }

  axes(at) {
    const c = this.context;
    const [x1From, x1To, x2From, x2To] = this.data.domain;
    c.fillStyle = "#0009";
    c.font = "9px system-ui, sans-serif";
    const ticks = (from, to) => {
      const step = Math.pow(10, Math.floor(Math.log10((to - from) / 2)));
      const values = [];
      for (let v = Math.ceil(from / step) * step; v <= to; v += step) values.push(Number(v.toPrecision(6)));
      return values.length > 7 ? values.filter((_, i) => i % 2 === 0) : values;
    };
    const inside = (p) => p > 12 && p < this.width - 12;  // none in the corners
    for (const v of ticks(x1From, x1To)) {
      const [px] = at([v, 0]);
      if (inside(px)) c.fillText(String(v), px - 4, this.width - 3);
    }
    for (const v of ticks(x2From, x2To)) {
      const [, py] = at([0, v]);
      if (inside(py)) c.fillText(String(v), 2, py + 3);
    }
  }
}
