// Exports page: while an export job is pending or running, refresh the job table (status,
// progress, SHA-256 and download link come from the server's own rendering of it). When the
// last one ends, reload once so that a new release shows in the releases table as well.
const box = document.getElementById("export-jobs");
const unfinished = () => box.querySelector('tr[data-status="pending"], tr[data-status="running"]');

async function refresh() {
  try {
    const response = await fetch(box.dataset.url, { credentials: "same-origin" });
    if (response.ok) box.innerHTML = await response.text();
  } catch {
    // Offline for a moment: try again on the next tick.
  }
  if (unfinished()) setTimeout(refresh, 1000);
  else window.location.reload();
}

if (box && unfinished()) setTimeout(refresh, 800);
