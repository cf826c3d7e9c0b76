// The settings form: menus filled from the server's choices, set from the server's
// settings, and each change sent back as a partial settings object. The settings that
// differ from the defaults live in the URL's hash, so a link brings them back.

const $ = (selector) => document.querySelector(selector);
const NAMES = {
  circle: "Circle", xor: "Exclusive or", gauss: "Gaussian", spiral: "Spiral", moons: "Moons",
  plane: "Plane (regression)", multigauss: "Multi-Gaussian (regression)",
  custom: "Your own points (click)", csv: "Uploaded CSV",
  cross_entropy: "Cross-entropy", mse: "Squared (mean)", sse: "E = ½Σ(t − o)²",
  mae: "Absolute (mean)", binary_cross_entropy: "Binary cross-entropy",
  sgd: "SGD", momentum: "Momentum", nesterov: "Nesterov", adagrad: "AdaGrad",
  rmsprop: "RMSProp", adam: "Adam", adamw: "AdamW",
  none: "None", l1: "L1", l2: "L2",
  identity: "Linear", step: "Step", sigmoid: "Sigmoid", tanh: "Tanh", relu: "ReLU",
  leaky_relu: "Leaky ReLU", elu: "ELU",
};
const REGULARIZATION_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const PAGE_OPTIONS = {showTest: "show-test", discretize: "discretize"};

export const name = (key) => NAMES[key] || key;

function fill(select, values, label = name) {
  select.replaceChildren(...values.map((value) => new Option(label(value), String(value))));
}

export class Controls {
  constructor(onChange, onPageOption) {
    this.onChange = onChange;
    this.onPageOption = onPageOption;
    this.settings = null;
    this.choices = null;
    this.hasTable = false;
    for (const element of document.querySelectorAll("[data-setting]")) {
      const event = element.type === "range" ? "input" : "change";
      element.addEventListener(event, () => this.show(element));
      element.addEventListener("change", () => this.send(element));
    }
    $("[data-testid=dataset]").addEventListener("change", (event) => this.pickDataset(event.target.value));
    $("[data-testid=problem]").addEventListener("change", (event) => this.pickProblem(event.target.value));
    $("[data-testid=activation]").addEventListener("change", (event) => {
      if (!event.target.value) return;
      this.onChange({activations: this.settings.hidden.map(() => event.target.value)});
    });
    $("[data-testid=regenerate]").addEventListener("click", () =>
      this.onChange({data_seed: Math.floor(Math.random() * 2 ** 31)}));
    for (const [option, testid] of Object.entries(PAGE_OPTIONS)) {
      $(`[data-testid=${testid}]`).addEventListener("change", (event) => {
        this.onPageOption(option, event.target.checked);
        this.writeHash();
      });
    }
  }

  // the server's menus, then the settings the link asks for (sent to the server)
  setChoices(choices, defaults) {
    this.choices = choices;
    this.defaults = defaults;
    fill($("[data-testid=learning-rate]"), choices.learning_rates, String);
    fill($("[data-testid=regularization]"), choices.regularizations);
    fill($("[data-testid=regularization-rate]"), REGULARIZATION_RATES, String);
    fill($("[data-testid=problem]"), Object.keys(choices.datasets), (p) => p[0].toUpperCase() + p.slice(1));
    fill($("[data-testid=optimizer]"), choices.optimizers);
    fill($("[data-testid=speed]"), choices.speeds, (s) => (s ? String(s) : "fastest"));
    fill($("[data-testid=classes]"), Array.from({length: choices.limits.classes - 1}, (_, i) => i + 2), String);
    const linked = this.readHash();
    for (const [option, testid] of Object.entries(PAGE_OPTIONS)) {
      const on = linked.page[option] === "1";
      $(`[data-testid=${testid}]`).checked = on;
      this.onPageOption(option, on);
    }
    return linked.settings;
  }

  setTable(hasTable) {
    this.hasTable = hasTable;
  }

  // the settings the server holds now
  set(settings) {
    this.settings = settings;
    const problem = settings.problem;
    const datasets = [...this.choices.datasets[problem], "custom", ...(this.hasTable ? ["csv"] : [])];
    if (settings.dataset === "csv" && !datasets.includes("csv")) datasets.push("csv");
    fill($("[data-testid=dataset]"), datasets);
    $("[data-testid=dataset]").value = settings.dataset;
    $("[data-testid=problem]").value = problem;
    $("[data-testid=problem]").disabled = settings.dataset === "csv";
    fill($("[data-testid=loss-function]"), this.choices.losses[problem]);
    const activation = $("[data-testid=activation]");
    const shared = new Set(settings.activations);
    fill(activation, [...(shared.size === 1 ? [] : [""]), ...this.choices.activations],
         (a) => (a ? name(a) : "(per layer)"));
    activation.value = shared.size === 1 ? settings.activations[0] : "";
    for (const element of document.querySelectorAll("[data-setting]")) {
      const value = String(settings[element.dataset.setting]);
      if (element.tagName === "SELECT" && ![...element.options].some((o) => o.value === value)) {
        element.append(new Option(value, value));  // a value from a link or a model file
      }
      element.value = value;
      this.show(element);
    }
    const generated = !["csv", "custom"].includes(settings.dataset);
    for (const testid of ["noise", "points", "regenerate"]) {
      $(`[data-testid=${testid}]`).disabled = !generated;
    }
    const fixed = this.choices.fixed_classes[settings.dataset];
    $("#classes-field").hidden = problem !== "classification" || Boolean(fixed) || settings.dataset === "csv";
    this.writeHash();
  }

  show(element) {
    const key = element.dataset.setting;
    const shown = document.querySelector(`[data-show=${key}]`);
    if (shown) shown.textContent = element.value;
    if (key === "batch_size") {
      const size = Number(element.value);
      $("#batch-shown").textContent = size === 0 ? "all (batch gradient descent)"
        : size === 1 ? "1 (stochastic)" : `${size} (mini-batch)`;
    }
  }

  send(element) {
    const kind = element.dataset.kind;
    let value = element.value;
    if (kind === "number") value = Number(value);
    if (kind === "integer") value = Math.round(Number(value));
    this.onChange({[element.dataset.setting]: value});
  }

  pickDataset(dataset) {
    this.onChange({dataset});
  }

  pickProblem(problem) {
    this.onChange({problem, dataset: this.choices.datasets[problem][0],
                   loss: this.choices.losses[problem][0], error_threshold: 0});
  }

  // ------------------------------------------------------------------ the link
  writeHash() {
    if (!this.settings) return;
    const parts = [];
    for (const [key, value] of Object.entries(this.settings)) {
      if (JSON.stringify(value) === JSON.stringify(this.defaults[key])) continue;
      parts.push(`${key}=${encodeURIComponent(Array.isArray(value) ? value.join(",") : value)}`);
    }
    for (const [option, testid] of Object.entries(PAGE_OPTIONS)) {
      if ($(`[data-testid=${testid}]`).checked) parts.push(`${option}=1`);
    }
    history.replaceState(null, "", `${location.pathname}${location.search}#${parts.join("&")}`);
  }

  readHash() {
    const settings = {};
    const page = {};
    for (const part of location.hash.slice(1).split("&").filter(Boolean)) {
      const [key, raw = ""] = part.split("=");
      const text = decodeURIComponent(raw);
      if (key in PAGE_OPTIONS) {
        page[key] = text;
        continue;
      }
      const model = this.defaults[key];
      if (model === undefined) {
        settings[key] = text;  // the server names what it does not know
      } else if (Array.isArray(model)) {
        const items = text === "" ? [] : text.split(",");
        const numeric = ["hidden", "dropout"].includes(key);
        settings[key] = numeric ? items.map(Number) : items;
      } else if (typeof model === "number") {
        settings[key] = Number(text);
      } else {
        settings[key] = text;
      }
    }
    return {settings, page};
  }
}
