// panel_lobby.js: the lobby in the demo page (docs/protocol.md section 23). For teachers and
// hosts: who waits, by class, with "Admit" and "Deny" per person and "Admit all from <class>",
// and the session's lobby policy. For a participant who waits: a notice saying so (the page
// shows nothing of the session until they are let in). The server decides; the panel shows the
// SDK's replica (client.session.lobby), so every teacher's page shows the same. Names:
// textContent only.

import { LOBBY_POLICIES, admit, deny, setLobbyPolicy, waitingList } from "./lobby.js";

const $ = (id) => document.getElementById(id);
const TEACHER_ROLES = new Set(["teacher", "host"]);
const POLICY_LABELS = {
  open: "Open: everyone enters at once",
  class: "Class: students enter once a teacher of their class is here",
  everyone: "Everyone waits until a teacher lets them in",
};
const WAITING_NOTES = {
  class: "Waiting for a teacher to let you in. You enter as soon as your teacher is here.",
  everyone: "Waiting for a teacher to let you in.",
};

export function mount(client, { describe }) {
  const render = () => renderPanel(client, run);
  const run = (promise) => {
    $("lobby-error").textContent = "";
    // On success the lobby event renders the panel again; on failure, render the buttons back.
    promise.catch((error) => {
      $("lobby-error").textContent = describe(error);
      render();
    });
  };
  client.on("welcome", render);
  client.on("lobby", render);
  client.on("settings", render);
  client.on("state", ({ state, policy }) => showWaiting(state === "waiting", policy));
  const select = $("lobby-policy");
  select.replaceChildren(...LOBBY_POLICIES.map((policy) => {
    const option = document.createElement("option");
    option.value = policy;
    option.textContent = POLICY_LABELS[policy];
    return option;
  }));
  select.addEventListener("change", () => run(setLobbyPolicy(client, select.value)));
}

function showWaiting(waiting, policy) {
  const notice = $("lobby-waiting");
  notice.hidden = !waiting;
  notice.textContent = waiting ? WAITING_NOTES[policy] || WAITING_NOTES.everyone : "";
  if (waiting) {
    $("join-form").hidden = true;
    document.body.dataset.view = "waiting";
  }
}

function renderPanel(client, run) {
  if (!client.session || !TEACHER_ROLES.has(client.me?.role)) return;
  const policy = client.session.settings?.lobby || "open";
  $("lobby-policy").value = policy;
  const waiting = client.session.lobby?.waiting || {};
  const blocks = client.session.classes
    .filter((cls) => (waiting[cls.id] || []).length > 0)
    .map((cls) => classBlock(client, cls, waiting[cls.id], run));
  $("lobby-classes").replaceChildren(...blocks);
  $("lobby-empty").hidden = waitingList(client).length > 0;
}

function classBlock(client, cls, entries, run) {
  const block = document.createElement("section");
  block.dataset.class = cls.id;
  const heading = document.createElement("h4");
  heading.id = `lobby-class-${cls.id}`;
  heading.textContent = `${cls.name} · ${entries.length} waiting`;
  const all = button(`Admit all from ${cls.name}`, () => run(admit(client, { class: cls.id })));
  const list = document.createElement("ul");
  list.setAttribute("aria-labelledby", heading.id);
  for (const entry of entries) {
    const item = document.createElement("li");
    item.dataset.participant = entry.id;
    const who = document.createElement("span");
    who.textContent = entry.name;
    const yes = button("Admit", () => run(admit(client, entry.id)), `Admit ${entry.name}`);
    const no = button("Deny", () => run(deny(client, entry.id)), `Deny ${entry.name}`);
    item.append(who, " ", yes, " ", no);
    list.append(item);
  }
  block.append(heading, all, list);
  return block;
}

function button(text, onClick, label) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (label) element.setAttribute("aria-label", label);
  element.addEventListener("click", () => {
    element.disabled = true; // one click, one command: the event re-renders the list
    onClick();
  });
  return element;
}
