// Launch form: choosing an architecture fills the hyper-parameters with its defaults (the
// papers' own, from inference/training/config.py, rendered by the server as JSON data; no
// default lives in this file). A researcher edits them afterwards as they like.
const defaults = JSON.parse(document.getElementById("arch-defaults").textContent);
const form = document.querySelector("form.launch");
const arch = form.elements.namedItem("arch");
const note = document.getElementById("defaults-note");

function fill() {
  const values = defaults[arch.value];
  if (!values) return;
  for (const [name, value] of Object.entries(values)) {
    const field = form.elements.namedItem(name);
    if (field) field.value = String(value);
  }
  const label = arch.options[arch.selectedIndex].text;
  note.textContent = `Defaults of ${label} filled in.`;
}

arch.addEventListener("change", fill);
