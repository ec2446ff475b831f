// Upload DICOM files, folders and zips to a dataset in chunks (imaging/chunked.py's API), so a
// large upload survives a flaky connection: each chunk is retried with back-off, and after a
// refusal the session says how much has arrived and the upload goes on from there. Then the
// ingest job is followed until it ends, and the page reloads to show its per-file report.
const root = document.getElementById("upload");
const config = JSON.parse(document.getElementById("upload-config").textContent);
const drop = root.querySelector(".dropzone");
const fileInput = document.getElementById("upload-files");
const folderInput = document.getElementById("upload-folder");
const burned = document.getElementById("allow-burned-in");
const list = document.getElementById("upload-list");
const button = document.getElementById("upload-start");
const status = document.getElementById("upload-status");
const transferBar = document.querySelector("#transfer-bar span");
const ingestBar = document.querySelector("#ingest-bar span");

let chosen = []; // [{file, name}]
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function say(text) {
  status.textContent = text;
}

function setChosen(items) {
  chosen = items;
  const bytes = chosen.reduce((sum, item) => sum + item.file.size, 0);
  list.textContent = chosen.length
    ? `${chosen.length} file(s), ${(bytes / 1048576).toFixed(1)} MB chosen`
    : "Nothing chosen yet.";
  button.disabled = chosen.length === 0;
}

function fromInput(input) {
  return Array.from(input.files, (file) => ({ file, name: file.webkitRelativePath || file.name }));
}

// A dropped folder arrives as a directory entry: walk it (readEntries gives batches).
async function walk(entry, prefix) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [{ file, name: prefix + file.name }];
  }
  const reader = entry.createReader();
  const out = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    for (const child of batch) out.push(...(await walk(child, `${prefix}${entry.name}/`)));
  }
  return out;
}

async function send(url, options, what) {
  // Network errors and 5xx are retried with back-off; a 4xx is an answer, not a failure.
  for (let attempt = 0; ; attempt += 1) {
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        ...options,
        headers: { "X-CSRFToken": config.csrf, ...(options.headers || {}) },
      });
      if (response.status < 500) return response;
    } catch {
      // The connection dropped: wait and send the same bytes again.
    }
    const wait = Math.min(30000, 500 * 2 ** Math.min(attempt, 6));
    say(`${what}: connection trouble, retrying in ${Math.round(wait / 1000)} s…`);
    await sleep(wait);
  }
}

async function detail(response) {
  try {
    const body = await response.json();
    return body.detail || JSON.stringify(body);
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function upload() {
  button.disabled = true;
  const total = chosen.reduce((sum, item) => sum + item.file.size, 0) || 1;
  let created = await send(config.create, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      files: chosen.map((item) => ({ name: item.name, size: item.file.size })),
      allow_burned_in: burned.checked,
    }),
  }, "Starting the upload");
  if (!created.ok) {
    say(`The upload was refused: ${await detail(created)}`);
    button.disabled = false;
    return;
  }
  const session = await created.json();
  const base = `${config.sessions}${session.id}/`;
  let sent = 0;
  for (const [index, item] of chosen.entries()) {
    let offset = 0;
    while (offset < item.file.size) {
      const chunk = item.file.slice(offset, offset + session.chunk_bytes);
      const response = await send(`${base}files/${index}/?offset=${offset}`, {
        method: "PUT",
        headers: { "Content-Type": "application/octet-stream" },
        body: chunk,
      }, `Sending ${item.name}`);
      const body = await response.json().catch(() => ({}));
      if (response.status === 409) {
        offset = body.received; // the server has a different idea of where we are: resume there
      } else if (!response.ok) {
        say(`Sending ${item.name} failed: ${body.detail || JSON.stringify(body)}`);
        return;
      } else {
        sent += body.received - offset;
        offset = body.received;
      }
      transferBar.style.width = `${Math.min(100, (100 * sent) / total)}%`;
      transferBar.parentElement.setAttribute("aria-valuenow", String(Math.round((100 * sent) / total)));
      say(`Sending: ${(sent / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`);
    }
  }
  transferBar.style.width = "100%";
  const finished = await send(`${base}finish/`, { method: "POST" }, "Finishing the upload");
  if (!finished.ok) {
    say(`The upload could not be finished: ${await detail(finished)}`);
    return;
  }
  const job = await finished.json();
  await follow(job.id);
}

async function follow(jobId) {
  for (;;) {
    const response = await send(`${config.jobs}${jobId}/`, { method: "GET" }, "Following the import");
    const job = await response.json();
    const percent = Math.round(100 * (job.progress || 0));
    ingestBar.style.width = `${percent}%`;
    ingestBar.parentElement.setAttribute("aria-valuenow", String(percent));
    say(`Importing (job ${jobId}): ${job.status}, ${job.n_files_done} of ${job.n_files_total} files`);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) {
      say(`Import ${job.status}. Showing its report…`);
      window.location.reload();
      return;
    }
    await sleep(1000);
  }
}

fileInput.addEventListener("change", () => setChosen(fromInput(fileInput)));
folderInput.addEventListener("change", () => setChosen(fromInput(folderInput)));
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", async (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const entries = Array.from(event.dataTransfer.items || [], (i) => i.webkitGetAsEntry?.()).filter(Boolean);
  const items = [];
  if (entries.length) for (const entry of entries) items.push(...(await walk(entry, "")));
  else for (const file of event.dataTransfer.files) items.push({ file, name: file.name });
  setChosen(items);
});
button.addEventListener("click", () => upload().catch((error) => say(`Upload stopped: ${error}`)));
setChosen([]);
