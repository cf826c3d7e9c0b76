// Two small line charts: the training and test loss per epoch, and each layer's
// gradient norm per epoch on a log scale (vanishing gradients show as the first
// layers' lines falling far below the last's).

const LAYER_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                      "#a6761d", "#666666", "#1f78b4"];
const MAX_POINTS = 1200;

function setUp(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  return [context, width, height];
}

// keep a long series short: every other point once it passes MAX_POINTS
function thin(series) {
  return series.length > MAX_POINTS ? series.filter((_, i) => i % 2 === 0) : series;
}

function line(context, points, color, x, y, width = 1.5) {
  context.strokeStyle = color;
  context.lineWidth = width;
  context.beginPath();
  let drawing = false;
  for (const [a, b] of points) {
    if (b === null || !Number.isFinite(b)) {
      drawing = false;
      continue;
    }
    if (drawing) context.lineTo(x(a), y(b));
    else context.moveTo(x(a), y(b));
    drawing = true;
  }
  context.stroke();
}

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.reset();
  }

  reset() {
    this.train = [];
    this.test = [];
    this.draw();
  }

  add(history) {
    for (const [epoch, loss, testLoss] of history) {
      this.train.push([epoch, loss]);
      this.test.push([epoch, testLoss]);
    }
    this.train = thin(this.train);
    this.test = thin(this.test);
    this.draw();
  }

  draw() {
    const [c, w, h] = setUp(this.canvas);
    c.clearRect(0, 0, w, h);
    if (!this.train.length) return;
    const last = this.train[this.train.length - 1][0];
    const first = this.train[0][0];
    const values = [...this.train, ...this.test].map(([, v]) => v).filter((v) => v !== null && Number.isFinite(v));
    const top = Math.max(1e-9, ...values);
    const x = (epoch) => 2 + (w - 4) * (last === first ? 1 : (epoch - first) / (last - first));
    const y = (v) => h - 2 - (h - 12) * v / top;
    line(c, this.test, "#999", x, y);
    line(c, this.train, "#222", x, y);
    c.fillStyle = "#777";
    c.font = "9px system-ui, sans-serif";
    c.fillText(`${top.toPrecision(3)}  — training  ·  grey: test`, 4, 9);
  }
}

export class GradientChart {
  constructor(canvas, legend, dead) {
    this.canvas = canvas;
    this.legend = legend;
    this.dead = dead;
    this.reset(0);
  }

  reset(layers) {
    this.layers = layers;
    this.series = Array.from({length: layers}, () => []);
    this.legend.replaceChildren(...this.series.map((_, l) => {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = LAYER_COLORS[l % LAYER_COLORS.length];
      item.append(swatch, l === layers - 1 ? `layer ${l + 1} (output)` : `layer ${l + 1}`);
      return item;
    }));
    this.dead.textContent = "";
    this.draw();
  }

  add(epoch, norms, deadFraction) {
    if (!norms) return;
    norms.forEach((norm, l) => {
      if (this.series[l]) this.series[l].push([epoch, norm > 0 ? Math.log10(norm) : null]);
    });
    this.series = this.series.map(thin);
    this.dead.textContent = deadFraction === null || deadFraction === undefined ? ""
      : `dead ReLU units: ${(100 * deadFraction).toFixed(0)}%`;
    this.draw();
  }

  draw() {
    const [c, w, h] = setUp(this.canvas);
    c.clearRect(0, 0, w, h);
    const points = this.series.flat().filter(([, v]) => v !== null);
    if (!points.length) return;
    const epochs = points.map(([e]) => e);
    const values = points.map(([, v]) => v);
    const [first, last] = [Math.min(...epochs), Math.max(...epochs)];
    const low = Math.floor(Math.min(...values));
    const high = Math.max(low + 1, Math.ceil(Math.max(...values)));
    const x = (e) => 36 + (w - 40) * (last === first ? 1 : (e - first) / (last - first));
    const y = (v) => h - 6 - (h - 12) * (v - low) / (high - low);
    c.strokeStyle = "#eee";
    c.fillStyle = "#888";
    c.font = "9px system-ui, sans-serif";
    for (let v = low; v <= high; v++) {
      c.beginPath();
      c.moveTo(36, y(v));
      c.lineTo(w, y(v));
      c.stroke();
      c.fillText(`1e${v}`, 2, y(v) + 3);
    }
    this.series.forEach((series, l) => line(c, series, LAYER_COLORS[l % LAYER_COLORS.length], x, y));
  }
}
