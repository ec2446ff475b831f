// The non-blinded viewer (dataset image page, a study's image page): the reading page's viewer
// (viewer.js), no scoring panel; with an active model, its saliency overlay.
import { SaliencyOverlay, formatScore } from "../saliency-overlay.js";

const boot = JSON.parse(document.getElementById("viewer-boot").textContent);
const element = document.getElementById("viewport");
const position = document.getElementById("slice");
const viewer = new window.IQAViewer.Viewer(element, {
  onChange: () => {
    if (viewer.imageIds.length > 1) position.textContent = `slice ${viewer.index + 1} of ${viewer.imageIds.length}`;
  },
});
viewer.show(boot.image_ids, boot.modality).then(() => {
  element.dataset.rendered = "1";
  if (boot.image_ids.length > 1) position.textContent = `slice 1 of ${boot.image_ids.length}`;
});
element.addEventListener("keydown", (event) => {
  const keys = { ArrowDown: 1, PageDown: 1, ArrowUp: -1, PageUp: -1 };
  if (event.key in keys) {
    viewer.scroll(keys[event.key]);
    event.preventDefault();
  } else if (event.key === "i") viewer.toggleInvert();
  else if (event.key === "r") viewer.reset();
  else if (event.key === "f") viewer.fit();
});

// Where the model looks: the active model versions of this dataset's studies (coordinators and
// researchers only; the server lists none to anyone else).
if (boot.models && boot.models.length) {
  const overlay = new SaliencyOverlay(element);
  const picker = document.getElementById("saliency-model");
  const toggle = document.getElementById("saliency-toggle");
  const opacity = document.getElementById("saliency-opacity");
  const scoreOut = document.getElementById("saliency-score");
  const methodOut = document.getElementById("saliency-method");
  const errorOut = document.getElementById("saliency-error");
  const chosen = () => boot.models.find((m) => String(m.id) === picker.value);
  let loaded = null;

  async function ensureLoaded() {
    const model = chosen();
    if (loaded === model.id) return;
    loaded = model.id;
    errorOut.hidden = true;
    scoreOut.textContent = "…";
    try {
      const out = await overlay.load(model.url);
      if (!out) return;
      scoreOut.textContent = formatScore(out.score, model.target);
      methodOut.textContent = out.method === "none" ? "(no map for this model)" : `(${out.method})`;
    } catch (error) {
      loaded = null;
      scoreOut.textContent = "–";
      errorOut.textContent = `The model's map could not be loaded: ${error.message}`;
      errorOut.hidden = false;
    }
  }

  overlay.setOpacity(Number(opacity.value) / 100);
  toggle.addEventListener("change", async () => {
    if (toggle.checked) await ensureLoaded();
    overlay.setVisible(toggle.checked);
  });
  picker.addEventListener("change", async () => {
    if (toggle.checked) await ensureLoaded();
  });
  opacity.addEventListener("input", () => overlay.setOpacity(Number(opacity.value) / 100));
}
