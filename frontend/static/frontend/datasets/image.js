// The coordinator's non-blinded viewer: the reading page's viewer (viewer.js), no scoring panel.
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
