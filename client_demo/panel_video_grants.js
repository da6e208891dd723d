// panel_video_grants.js: the teacher's "Let present (video)" toggle per student (docs/protocol.md
// section 21, media.grant). A student granted video takes part with their own camera, like a
// station; the toggle shows session.media.grants as the SDK's replica has it (updated by the
// media.granted events), so every teacher's page shows the same. Names: textContent only.

const $ = (id) => document.getElementById(id);
const TEACHER_ROLES = new Set(["teacher", "host"]);

export function mount(client, { describe }) {
  const render = () => renderGrants(client, describe);
  client.on("welcome", render);
  client.on("presence", render);
  client.on("event", (event) => { if (event.kind === "media.granted") render(); });
}

function renderGrants(client, describe) {
  if (!client.session || !TEACHER_ROLES.has(client.me?.role)) return;
  const granted = new Set(client.session.media?.grants || []);
  const students = [...client.participants.values()]
    .filter((p) => p.role === "student")
    .sort((a, b) => Number(b.present) - Number(a.present) || a.name.localeCompare(b.name));
  const items = students.map((student) => grantItem(client, student, granted.has(student.id), describe));
  if (items.length === 0) {
    const none = document.createElement("li");
    none.textContent = "No students have joined yet.";
    items.push(none);
  }
  $("video-grants-list").replaceChildren(...items);
}

function grantItem(client, student, on, describe) {
  const item = document.createElement("li");
  item.dataset.participant = student.id;
  const cls = client.session.classes.find((c) => c.id === student.class_id);
  const who = document.createElement("span");
  who.textContent = `${student.name}${cls ? ` · ${cls.name}` : ""}${student.present ? "" : " (away)"}`;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Let present (video)";
  button.setAttribute("aria-pressed", String(on));
  button.setAttribute("aria-label", `Let ${student.name} present (video)`);
  button.addEventListener("click", () => {
    button.disabled = true;
    $("video-grants-error").textContent = "";
    client.request({ type: "media.grant", participant: student.id, on: !on }).catch((error) => {
      $("video-grants-error").textContent = describe(error);
      button.disabled = false;
    }); // on success the media.granted event renders the list again
  });
  item.append(who, " ", button);
  return item;
}
