// The page: wires the server's messages to the views and the views' events to commands.

import {Connection} from "./connection.js";
import {Controls, name} from "./controls.js";
import {NetworkView} from "./network.js";
import {Heatmap} from "./heatmap.js";
import {GradientChart, LossChart} from "./charts.js";
import {Explainer} from "./explain.js";
import {CLASS_COLORS} from "./colors.js";

const $ = (selector) => document.querySelector(selector);
const byTest = (id) => document.querySelector(`[data-testid=${id}]`);
const FEATURE_LABELS = {"x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁X₂",
                        "sin(x1)": "sin(X₁)", "sin(x2)": "sin(X₂)"};

const state = {settings: null, choices: null, structure: null, data: null, frame: null, playing: false};

function status(text, kind = "") {
  const line = byTest("status");
  line.textContent = text || "";
  line.className = `status ${kind}`;
}

const connection = new Connection(receive, () => status("The server has gone: start `descent playground` again.", "error"));
const configure = (changes) => connection.send({type: "configure", settings: changes});
const controls = new Controls(configure, (option, on) => heatmap.setOptions({[option]: on}));
const heatmap = new Heatmap(byTest("heatmap"), clickedOutput);
const network = new NetworkView($("#network"), {
  onChange: configure,
  onUnit: (layer, index, box) => { network.select(box); explainer.showUnit(layer, index, box); },
  onLink: (layer, i, j, event) => explainer.showLink(layer, i, j, event),
});
const lossChart = new LossChart(byTest("loss-chart"));
const gradientChart = new GradientChart(byTest("gradient-chart"), $("#gradient-legend"), $("#dead"));
const explainer = new Explainer({
  request: (example) => connection.send({type: "explain", example}),
  edit: (message) => { connection.send(message); explainer.stale(); },
  onClose: () => { heatmap.setOptions({highlight: []}); network.select(null); },
});

function receive(message) {
  switch (message.type) {
    case "hello":
      state.choices = message.choices;
      state.defaults = message.defaults;
      {
        const linked = controls.setChoices(message.choices, message.defaults);
        if (Object.keys(linked).length) configure(linked);
      }
      break;
    case "settings":
      state.settings = message.settings;
      controls.set(message.settings);
      network.setSettings(message.settings);
      addControls();
      break;
    case "data":
      state.data = message;
      controls.setTable(Boolean(message.columns));
      if (state.settings) controls.set(state.settings);
      showColumns(message.columns);
      heatmap.setData(message);
      $("#axes").textContent = message.columns
        ? `x₁ = ${message.inputs[0]}, x₂ = ${message.inputs[1]}` +
          (message.columns.picked.standardise ? " (standardised)" : "")
        : `${message.train.length} training and ${message.test.length} test points`;
      addControls();
      break;
    case "network":
      state.structure = message;
      if (state.settings) network.setStructure(message, state.settings, state.choices);
      else state.pendingStructure = message;
      lossChart.reset();
      gradientChart.reset(message.sizes.length - 1);
      explainer.setStructure(message);
      break;
    case "frame":
      showFrame(message);
      break;
    case "explanation":
      explainer.received(message);
      heatmap.setOptions({highlight: message.rows});
      break;
    case "error":
      status(message.message, "error");
      break;
    case "notice":
      status(message.message);
      break;
    default:
      break;
  }
}

function showFrame(frame) {
  state.frame = frame;
  if (state.pendingStructure && state.settings) {
    network.setStructure(state.pendingStructure, state.settings, state.choices);
    state.pendingStructure = null;
  }
  setPlaying(frame.playing);
  byTest("epoch").textContent = frame.epoch.toLocaleString("en").padStart(3, "0");
  const m = frame.metrics;
  const show = (value) => (value === null || value === undefined ? "–" : Number(value).toFixed(3));
  byTest("loss").textContent = show(m.loss);
  byTest("test-loss").textContent = show(m.test_loss);
  const score = m.test_score ?? m.train_score;
  const which = m.test_score === null || m.test_score === undefined ? "training" : "test";
  $("#score-label").textContent = m.score === "r2" ? `R² (${which})` : `Accuracy (${which})`;
  byTest("accuracy").textContent = score === null || score === undefined ? "–"
    : m.score === "r2" ? Number(score).toFixed(3) : `${(100 * score).toFixed(1)}%`;
  network.update(frame);
  heatmap.setOutput(frame.output);
  lossChart.add(frame.history);
  if (frame.history.length) gradientChart.add(frame.epoch, frame.gradient_norms, frame.dead_fraction);
  explainer.setFrame(frame);
  showConfusion(frame.confusion, frame.confusion_of);
  if (frame.stop_reason) status(`Stopped: ${frame.stop_reason}.`);
}

function setPlaying(playing) {
  state.playing = playing;
  byTest("play").hidden = playing;
  byTest("pause").hidden = !playing;
  document.body.dataset.playing = String(playing);
}

function showConfusion(matrix, of) {
  const box = byTest("confusion");
  if (!matrix) {
    box.replaceChildren();
    return;
  }
  const names = state.data && state.data.classes ? state.data.classes : matrix.map((_, k) => String(k));
  const caption = document.createElement("div");
  caption.className = "caption";
  caption.textContent = `Confusion matrix of the ${of} points (rows: true class, columns: predicted)`;
  const table = document.createElement("table");
  const head = table.insertRow();
  head.append(document.createElement("th"));
  const chip = (k) => {
    const cell = document.createElement("th");
    const dot = document.createElement("i");
    dot.style.background = CLASS_COLORS[k % CLASS_COLORS.length];
    cell.append(dot, ` ${names[k]}`);
    return cell;
  };
  matrix.forEach((_, k) => head.append(chip(k)));
  matrix.forEach((row, i) => {
    const line = table.insertRow();
    line.append(chip(i));
    row.forEach((count, j) => {
      const cell = line.insertCell();
      cell.textContent = String(count);
      if (i === j) cell.className = "hit";
    });
  });
  box.replaceChildren(caption, table);
}

function showColumns(columns) {
  $("#columns").hidden = !columns;
  if (!columns) return;
  for (const [key, testid] of [["x1", "column-x1"], ["x2", "column-x2"], ["label", "column-label"]]) {
    const select = byTest(testid);
    const names = key === "label" ? columns.names : columns.numeric;
    select.replaceChildren(...names.map((n) => new Option(n, n)));
    select.value = columns.picked[key];
  }
  byTest("standardise").checked = columns.picked.standardise;
}

function pickColumns() {
  connection.send({type: "columns", x1: byTest("column-x1").value, x2: byTest("column-x2").value,
                   label: byTest("column-label").value, standardise: byTest("standardise").checked});
}

// the class (or value) clicked points get
function addControls() {
  if (!state.settings || !state.data) return;
  const regression = state.settings.problem === "regression";
  const select = byTest("add-label");
  select.hidden = regression;
  byTest("add-value").hidden = !regression;
  $("#add-kind").textContent = regression ? "with the value" : "of class";
  const names = state.data.classes || [];
  if (select.options.length !== names.length) {
    select.replaceChildren(...names.map((n, k) => new Option(n, String(k))));
  }
}

function clickedOutput(x, y) {
  if (explainer.open) {
    const index = heatmap.nearest(x, y);
    if (index >= 0) explainer.pick(index);
    return;
  }
  if (!byTest("add-points").checked) return;
  const regression = state.settings.problem === "regression";
  const label = regression ? Number(byTest("add-value").value) : Number(byTest("add-label").value);
  connection.send({type: "add_point", x, y, label});
}

// a link pasted into the address bar: its settings, the rest as they start
window.addEventListener("hashchange", () => {
  const linked = controls.readHash().settings;
  configure({...state.defaults, init_seed: state.settings.init_seed, ...linked});
});

byTest("play").addEventListener("click", () => { status(""); connection.send({type: "play"}); });
byTest("pause").addEventListener("click", () => connection.send({type: "pause"}));
byTest("step").addEventListener("click", () => { status(""); connection.send({type: "step"}); });
byTest("reset").addEventListener("click", () => { status(""); connection.send({type: "reset"}); });
byTest("add-layer").addEventListener("click", () => network.addLayer());
byTest("remove-layer").addEventListener("click", () => network.removeLayer());
byTest("explain-step").addEventListener("click", () => {
  if (state.playing) connection.send({type: "pause"});
  explainer.show();
});
byTest("save-model").addEventListener("click", () => {
  connection.download("/api/model");
  const features = state.settings.features.map((f) => FEATURE_LABELS[f]).join(", ");
  status(`Saved as a .descent file. The model takes the feature columns ${features}` +
         (state.settings.dataset === "csv" ? " of the standardised columns" : "") +
         ": descent.playground.inputs_for(model, points) computes them.");
});
byTest("export-spec").addEventListener("click", () => connection.download("/api/export/spec"));
byTest("export-python").addEventListener("click", () => connection.download("/api/export/python"));
for (const testid of ["column-x1", "column-x2", "column-label", "standardise"]) {
  byTest(testid).addEventListener("change", pickColumns);
}

async function send(path, input, done) {
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  try {
    done(await connection.upload(path, file));
  } catch (error) {
    status(`${file.name}: ${error.message}`, "error");
  }
}

byTest("upload").addEventListener("change", (event) => send("/api/upload", event.target, (answer) =>
  status(`Read ${answer.rows} rows: x1 = ${answer.picked.x1}, x2 = ${answer.picked.x2}, ` +
         `label = ${answer.picked.label}; pick other columns below.`)));
byTest("load-model").addEventListener("change", (event) => send("/api/model", event.target, () =>
  status("Loaded the model: its layers and weights are on the page.")));

window.playground = {state, name};  // for a look from the browser's console
