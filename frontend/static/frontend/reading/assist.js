// Assisted reading (a study with show_model_output): the model's score for the open image and,
// on request, where it looks, drawn over the image. Loaded only on such a study's page.
import { SaliencyOverlay, formatScore } from "../saliency-overlay.js";

const element = document.getElementById("viewport");
const scoreOut = document.getElementById("assist-score");
const toggle = document.getElementById("assist-toggle");
const opacity = document.getElementById("assist-opacity");
const note = document.getElementById("assist-note");
const overlay = new SaliencyOverlay(element);
let model = null;
let loadedUrl = null;

async function loadMap() {
  if (!model || loadedUrl === model.saliency) return;
  const url = model.saliency;
  loadedUrl = url;
  note.textContent = "";
  try {
    const out = await overlay.load(url);
    if (out && model && model.saliency === url) {
      if (model.score === null) scoreOut.textContent = formatScore(out.score, model.target);
      if (out.method === "none") note.textContent = "This model has no map.";
    }
  } catch (error) {
    loadedUrl = null;
    note.textContent = `The model's map could not be loaded: ${error.message}`;
  }
}

function show(item) {
  model = item && item.model;
  overlay.bitmap = null;
  loadedUrl = null;
  if (!model) {
    scoreOut.textContent = "–";
    overlay.setVisible(false);
    return;
  }
  scoreOut.textContent = model.score === null ? "…" : formatScore(model.score, model.target);
  // The score comes with the map when the payload had none yet; fetch it for the score alone.
  if (toggle.checked || model.score === null) loadMap();
  overlay.setVisible(toggle.checked);
}

element.addEventListener("iqa:item", (event) => show(event.detail));
toggle.addEventListener("change", async () => {
  if (toggle.checked) await loadMap();
  overlay.setVisible(toggle.checked);
});
opacity.addEventListener("input", () => overlay.setOpacity(Number(opacity.value) / 100));
overlay.setOpacity(Number(opacity.value) / 100);
if (element.iqaItem) show(element.iqaItem);
