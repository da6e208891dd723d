// panel_moderation.js: the teacher's moderation panel (docs/protocol.md section 24), and for
// every view the notice that a teacher asked this participant to mute. Per participant: ask to
// mute the microphone or turn the camera off, remove (with "bar" to keep them out); per class:
// mute microphones, cameras off, chat off, drawing off; the session: lock, end (with a confirm
// step) and, for the host, restricting teachers to their own class. The server enforces all of
// it; the buttons show the state of the SDK's replica (client.session.moderation), so every
// teacher's page shows the same. Names: textContent only.

import { moderationCommands, mutedKinds } from "./moderation.js";

const $ = (id) => document.getElementById(id);
const TEACHER_ROLES = new Set(["teacher", "host"]);

export function mount(client, { describe }) {
  const commands = moderationCommands(client);
  const fail = (error) => { $("moderation-error").textContent = describe(error); };
  const run = (promise) => {
    $("moderation-error").textContent = "";
    promise.catch(fail); // on success the event renders the panel again
  };
  const render = () => renderPanel(client, commands, run);
  client.on("welcome", render);
  client.on("presence", render);
  client.on("moderation", render);
  client.on("muted", (asked) => showNotice(asked));
  client.on("welcome", () => showNotice(client.me ? toAsked(mutedKinds(client, client.me.id)) : null));
  $("moderation-lock").addEventListener("click", () => {
    run(commands.lock(!client.session?.moderation?.locked));
  });
  $("moderation-scope").addEventListener("click", () => {
    run(commands.scope(!client.session?.moderation?.teachers_own_class));
  });
  $("moderation-end").addEventListener("click", () => {
    $("moderation-end-confirm").hidden = false;
    $("moderation-end-cancel").focus();
  });
  $("moderation-end-cancel").addEventListener("click", () => {
    $("moderation-end-confirm").hidden = true;
    $("moderation-end").focus();
  });
  $("moderation-end-yes").addEventListener("click", () => {
    $("moderation-end-confirm").hidden = true;
    run(commands.endSession());
  });
}

function toAsked(kinds) {
  return { audio: kinds.has("audio"), video: kinds.has("video") };
}

function showNotice(asked) {
  const parts = [];
  if (asked?.audio) parts.push("mute your microphone");
  if (asked?.video) parts.push("turn your camera off");
  $("moderation-notice").textContent = parts.length ? `A teacher asked you to ${parts.join(" and ")}.` : "";
  $("moderation-notice").hidden = parts.length === 0;
}

function renderPanel(client, commands, run) {
  if (!client.session || !TEACHER_ROLES.has(client.me?.role)) return;
  const moderation = client.session.moderation || {};
  toggle($("moderation-lock"), Boolean(moderation.locked), "Lock the session", "Unlock the session");
  $("moderation-scope").hidden = client.me.role !== "host";
  toggle($("moderation-scope"), Boolean(moderation.teachers_own_class),
    "Teachers moderate only their own class", "Let teachers moderate every class");
  $("moderation-classes").replaceChildren(...client.session.classes.map((cls) => classItem(cls, moderation, commands, run)));
  const people = [...client.participants.values()]
    .filter((p) => p.present && p.id !== client.me.id && mayModerate(client.me, p))
    .sort((a, b) => a.class_id.localeCompare(b.class_id) || a.name.localeCompare(b.name));
  const items = people.map((p) => personItem(client, p, commands, run));
  if (items.length === 0) {
    const none = document.createElement("li");
    none.textContent = "Nobody to moderate is here.";
    items.push(none);
  }
  $("moderation-people").replaceChildren(...items);
}

// The server decides (section 24); this only leaves out whom the buttons could never act on.
function mayModerate(me, participant) {
  return me.role === "host" || !TEACHER_ROLES.has(participant.role);
}

function toggle(button, on, offLabel, onLabel) {
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? onLabel : offLabel;
}

function button(label, ariaLabel, onClick, pressed) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.setAttribute("aria-label", ariaLabel);
  if (pressed !== undefined) element.setAttribute("aria-pressed", String(pressed));
  element.addEventListener("click", onClick);
  return element;
}

function classItem(cls, moderation, commands, run) {
  const item = document.createElement("li");
  item.dataset.class = cls.id;
  const name = document.createElement("span");
  name.textContent = cls.name;
  const muted = new Set(moderation.class_muted?.[cls.id] || []);
  const chatOff = (moderation.chat_disabled || []).includes(cls.id);
  const drawingOff = (moderation.drawing_disabled || []).includes(cls.id);
  item.append(
    name, " ",
    button(muted.has("audio") ? "Unmute microphones" : "Mute microphones", `${muted.has("audio") ? "Unmute" : "Mute"} the microphones of ${cls.name}`,
      () => run(commands.muteClass(cls.id, { audio: !muted.has("audio") })), muted.has("audio")),
    button(muted.has("video") ? "Allow cameras" : "Cameras off", `${muted.has("video") ? "Allow" : "Turn off"} the cameras of ${cls.name}`,
      () => run(commands.muteClass(cls.id, { video: !muted.has("video") })), muted.has("video")),
    button(chatOff ? "Turn chat on" : "Turn chat off", `Turn chat ${chatOff ? "on" : "off"} for ${cls.name}`,
      () => run(commands.classPermissions(cls.id, { chat: chatOff })), chatOff),
    button(drawingOff ? "Turn drawing on" : "Turn drawing off", `Turn drawing ${drawingOff ? "on" : "off"} for ${cls.name}`,
      () => run(commands.classPermissions(cls.id, { drawing: drawingOff })), drawingOff),
  );
  return item;
}

function personItem(client, person, commands, run) {
  const item = document.createElement("li");
  item.dataset.participant = person.id;
  const cls = client.session.classes.find((c) => c.id === person.class_id);
  const who = document.createElement("span");
  who.textContent = `${person.name}${cls ? ` · ${cls.name}` : ""}`;
  const asked = mutedKinds(client, person.id);
  const own = new Set(client.session.moderation?.muted?.[person.id] || []);
  const bar = document.createElement("input");
  bar.type = "checkbox";
  bar.id = `moderation-bar-${person.id}`;
  const barLabel = document.createElement("label");
  barLabel.htmlFor = bar.id;
  barLabel.textContent = "Bar from rejoining";
  item.append(
    who, " ",
    button(asked.has("audio") ? "Microphone muted" : "Ask to mute", `Ask ${person.name} to ${own.has("audio") ? "unmute" : "mute"} their microphone`,
      () => run(commands.muteParticipant(person.id, { audio: !own.has("audio") })), asked.has("audio")),
    button(asked.has("video") ? "Camera off" : "Ask to turn camera off", `Ask ${person.name} to turn their camera ${own.has("video") ? "on" : "off"}`,
      () => run(commands.muteParticipant(person.id, { video: !own.has("video") })), asked.has("video")),
    button("Remove", `Remove ${person.name} from the session`, () => run(commands.remove(person.id, bar.checked))),
    bar, barLabel,
  );
  return item;
}
