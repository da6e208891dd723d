// panel_export.js: the teacher's "Download export" button (docs/api.md, GET
// /api/sessions/{id}/export.zip): attendance, chat, boards and more in one zip.
//
// A plain link cannot carry the join token (the API reads it from the Authorization header
// only, never from the URL, where it would end up in logs and the browser's history), so the
// page fetches the zip with the header and hands the browser the bytes as a Blob download.

const $ = (id) => document.getElementById(id);
const TEACHER_ROLES = new Set(["teacher", "host"]);

export function mount(client, { describe }) {
  const button = $("export-download");
  client.on("welcome", () => {
    button.disabled = !TEACHER_ROLES.has(client.me?.role);
  });
  button.addEventListener("click", () => download(client, button, describe));
}

async function download(client, button, describe) {
  const status = $("export-status");
  button.disabled = true;
  status.textContent = "Preparing the export…";
  $("export-error").textContent = "";
  try {
    const response = await fetch(`/api/sessions/${encodeURIComponent(client.session.id)}/export.zip`, {
      headers: { Authorization: `Bearer ${client.token}` },
      cache: "no-store",
    });
    if (!response.ok) throw await apiError(response);
    const blob = await response.blob();
    save(blob, fileName(response));
    status.textContent = `Downloaded ${fileName(response)} (${Math.ceil(blob.size / 1024)} KB).`;
  } catch (error) {
    status.textContent = "";
    $("export-error").textContent = describe(error);
  } finally {
    button.disabled = false;
  }
}

async function apiError(response) {
  // Errors of the API are JSON: {code, message} (docs/api.md, Errors).
  let body = {};
  try { body = await response.json(); } catch { /* not JSON: a proxy's page */ }
  const error = new Error(body.message || `The export failed (HTTP ${response.status}).`);
  error.code = body.code || "export_failed";
  return error;
}

function fileName(response) {
  // The server sends ASCII letters, digits and dashes only: no quoting rules to undo.
  const match = /filename="([A-Za-z0-9._-]+)"/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : "classbridge-export.zip";
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Later, not at once: some browsers start reading the URL only after the click returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
