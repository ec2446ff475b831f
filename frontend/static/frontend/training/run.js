// A training run's page: live progress polled from the API, and the per-epoch curves drawn as
// plain SVG from the run's history. Everything shown comes from the server's JSON; when the run
// ends the page reloads once, so the final metrics and the model version come from the server.
import { lineChart } from "./chart.js";

const box = document.getElementById("run");
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 1500;

function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function setText(id, text) {
  const node = document.getElementById(id);
  if (node) node.textContent = text;
}

function showProgress(run) {
  const percent = Math.round(100 * run.progress);
  document.getElementById("run-bar").style.width = `${percent}%`;
  box.querySelector("[role=progressbar]").setAttribute("aria-valuenow", String(percent));
  const status = document.getElementById("run-status");
  status.textContent = run.status;
  status.className = `status status-${run.status}`;
  setText("run-epoch", `${run.epoch} / ${run.n_epochs}`);
  setText("run-step", run.n_steps ? `${run.step} / ${run.n_steps}` : String(run.step));
  setText("run-speed", run.images_per_s == null ? "—" : run.images_per_s.toFixed(1));
  setText("run-eta", run.status === "running" ? duration(run.eta_s) : "—");
}

// What each chart shows: [title, y label, [[series label, value of a history entry]...]].
function charts(target) {
  const val = (key) => (h) => (h.val ? h.val[key] : null);
  const loss = [
    "Loss",
    "loss",
    [
      ["train", (h) => h.train_loss],
      ["validation", (h) => h.val_loss],
    ],
  ];
  if (target === "regression") {
    return [
      loss,
      ["Validation Pearson r", "r", [["Pearson r", val("pearson_r")]]],
      ["Validation MAD", "MAD", [["MAD", val("mad")]]],
    ];
  }
  return [
    loss,
    [
      "Validation accuracy and AUC",
      "",
      [
        ["accuracy", val("accuracy")],
        ["AUC", val("auc")],
      ],
    ],
  ];
}

let drawnEpochs = -1;

function drawCurves(run) {
  const history = run.history || [];
  if (history.length === drawnEpochs) return;
  drawnEpochs = history.length;
  const holder = document.getElementById("curves");
  holder.replaceChildren();
  if (!history.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = FINISHED.has(run.status)
      ? "No per-epoch curves for this run."
      : "The curves appear after the first epoch.";
    holder.append(empty);
    return;
  }
  for (const [title, yLabel, series] of charts(run.target)) {
    const lines = series.map(([label, pick]) => ({
      label,
      points: history.map((h) => [h.epoch, pick(h)]).filter(([, y]) => y != null && Number.isFinite(y)),
    }));
    if (lines.every((line) => !line.points.length)) continue;
    holder.append(lineChart({ title, xLabel: "epoch", yLabel, lines, xMax: run.n_epochs }));
  }
}

async function poll() {
  try {
    const response = await fetch(box.dataset.url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (response.ok) {
      const run = await response.json();
      showProgress(run);
      drawCurves(run);
      if (FINISHED.has(run.status)) {
        window.location.reload();
        return;
      }
    }
  } catch {
    // Offline for a moment: try again on the next tick.
  }
  setTimeout(poll, POLL_MS);
}

const initial = JSON.parse(document.getElementById("run-data").textContent);
showProgress(initial);
drawCurves(initial);
if (box.dataset.finished !== "1") setTimeout(poll, POLL_MS);
