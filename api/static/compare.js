// Any experiments side by side (GET /v1/compare): one chart per quantity, one line per run,
// each named by its label (its name, or the spec fields in which it differs from the others).

import { api } from "./api.js";
import { lineChart, PALETTE, STEP_AXIS } from "./charts.js";
import { MAX_POINTS } from "./experiment_charts.js";
import { badge, html } from "./html.js";

function runsTable(data) {
  const rows = data.runs.map((run, k) => html`<tr class="clickable" data-id="${run.id}">
    <td><i class="swatch" style="border-color: ${PALETTE[k % PALETTE.length]}"></i>${run.label}</td>
    <td><a href="#/experiments/${run.id}">${run.id.slice(0, 8)}</a></td><td>${badge(run.status)}</td>
    <td>${run.seq_len}</td><td>${data.probe.steps[k] ?? "–"}</td>
    <td>${Object.entries(run.differing).map(([path, v]) => `${path}: ${JSON.stringify(v)}`).join("; ")}</td></tr>`);
  return html`<table class="list"><tr><th>run</th><th>id</th><th>status</th><th>T</th><th>probe step</th>
    <th>differing fields</th></tr>${rows}</table>`;
}

// One line per run of a per-step quantity: parts[k] = {step, value}.
function perRun(data, parts) {
  return data.runs.map((run, k) => ({ name: run.label, x: parts[k].step, y: parts[k].value,
    color: PALETTE[k % PALETTE.length] }));
}

function draw(main, data, choices) {
  const figures = Object.fromEntries([...main.querySelectorAll("figure[data-chart]")].map((f) => [f.dataset.chart, f]));
  for (const figure of Object.values(figures)) figure.replaceChildren();
  const aligned = choices.byEnd ? data.hidden_grad.by_distance : data.hidden_grad.by_t;
  lineChart(figures["compare-hidden"], {
    title: `|dL/dh_t| at the ${data.probe.requested === "last" ? "last probe" : `probe nearest step ${data.probe.requested}`}`,
    xLabel: choices.byEnd ? "distance from the end t − T" : "time step t", hoverName: choices.byEnd ? "t − T" : "t",
    yLabel: "|dL/dh_t|", logY: true, integerX: true,
    series: data.runs.map((run, k) => ({ name: run.label, x: aligned.x, y: aligned.values[k],
      color: PALETTE[k % PALETTE.length] })),
  });
  const smoothing = choices.smoothing;
  lineChart(figures["compare-loss"], { ...STEP_AXIS, title: "training loss", yLabel: "loss", logY: choices.logLoss,
    smoothing, series: perRun(data, data.loss) });
  lineChart(figures["compare-grad-norm"], { ...STEP_AXIS, title: "gradient norm (before clipping)", yLabel: "‖g‖",
    logY: true, smoothing, series: perRun(data, data.grad_norm) });
  lineChart(figures["compare-horizon"], { ...STEP_AXIS, title: "gradient horizon at each probe",
    yLabel: "horizon (time steps)", series: perRun(data, data.horizon) });
}

export async function showCompare(main, ids, signal) {
  const query = (probe) => `/v1/compare?ids=${ids.map(encodeURIComponent).join(",")}&probe=${probe}&max_points=${MAX_POINTS}`;
  let data = await api(query("last"));
  if (signal.aborted) return;
  main.innerHTML = html`<section class="panel"><h2>Comparing ${data.runs.length} experiments</h2>
    <p class="ident">differing in: ${data.differing_fields.join(", ") || "nothing but their ids"}</p>
    <div class="runs">${runsTable(data)}</div></section>
    <section class="panel"><div class="controls">
      <label>probe (training step) <input type="number" class="probe" min="0" placeholder="last"></label>
      <label class="inline"><input type="checkbox" class="by-end"> align dL/dh_t at the end (t − T)</label>
      <label>smoothing <input type="range" class="smoothing" min="0" max="0.99" step="0.01" value="0"></label>
      <label class="inline"><input type="checkbox" class="log-loss"> log loss axis</label>
      <output class="error"></output></div>
      <div class="charts">${["compare-hidden", "compare-loss", "compare-grad-norm", "compare-horizon"].map((name) =>
        html`<figure class="chart" data-chart="${name}"></figure>`)}</div></section>`;
  const input = (name) => main.querySelector(`.${name}`);
  const choices = () => ({ byEnd: input("by-end").checked, smoothing: Number(input("smoothing").value),
    logLoss: input("log-loss").checked });
  for (const name of ["by-end", "log-loss"]) input(name).addEventListener("change", () => draw(main, data, choices()));
  input("smoothing").addEventListener("input", () => draw(main, data, choices()));
  input("probe").addEventListener("change", async () => {
    input("error").textContent = "";
    try {
      data = await api(query(input("probe").value === "" ? "last" : Number(input("probe").value)));
    } catch (error) {
      input("error").textContent = error.message;
      return;
    }
    main.querySelector(".runs").innerHTML = runsTable(data);
    draw(main, data, choices());
  });
  main.querySelector(".runs").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-id]");
    if (row && !event.target.closest("a")) location.hash = `#/experiments/${row.dataset.id}`;
  });
  draw(main, data, choices());
}
