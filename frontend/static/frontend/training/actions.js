// Buttons that POST to the API (cancel, retry, activate): each carries its URL in
// data-post; the CSRF token comes from the page's {% csrf_token %} input. The page reloads on
// success, so what it shows comes from the server; a refusal is said in the status line.
const token = document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
const status = document.getElementById("action-status");

async function post(button) {
  button.disabled = true;
  try {
    const response = await fetch(button.dataset.post, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    });
    if (response.ok) {
      window.location.reload();
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (status) status.textContent = body.detail ?? `Refused (${response.status}).`;
  } catch {
    if (status) status.textContent = "The server did not answer; try again.";
  }
  button.disabled = false;
}

for (const button of document.querySelectorAll("button[data-post]")) {
  button.addEventListener("click", () => post(button));
}
