// panel_breakouts.js: breakout groups mixed across classes on the demo page (docs/protocol.md
// section 27). Teachers open groups of a chosen size, see who is in which group by class, move
// people, write to every group at once, answer calls, visit a group and close the groups.
// Students see their group and its members, its chat, the shared countdown, the teachers'
// messages and a "Call a teacher" button; the whiteboard shows their group's board meanwhile.
// Everything people typed is shown with textContent only.
import {
  answerCall, broadcastToGroups, callTeacher, closeBreakouts, groupRemainingMs, isTeacherRole, moveToGroup,
  myGroup, openBreakouts, sendGroupChat, visitGroup,
} from "./breakouts.js";
import { formatRemaining } from "./agenda.js";

const $ = (id) => document.getElementById(id);
const MAIN_ROOM = "";

export function mount(client, { describe, showBoard }) {
  // teacherGroup: the group whose board a teacher looks at (null: the main board).
  const panel = { client, describe, showBoard: showBoard || (() => {}), teacherGroup: null };
  const render = () => renderAll(panel);
  client.on("welcome", render);
  client.on("presence", render);
  client.on("breakouts", (change) => {
    if (change.kind === "breakout.called") announceCall(panel);
    if (change.kind === "breakout.opened" || change.kind === "breakout.closed") panel.teacherGroup = null;
    render();
  });
  client.on("chat", () => renderChat(panel));
  setInterval(() => renderCountdown(panel), 1000);
  wireForms(panel);
}

const teacher = (client) => isTeacherRole(client.me?.role);
const breakoutsOf = (client) => client.session?.breakouts ?? { open: false, groups: [], broadcasts: [] };
const fail = (panel) => (error) => { $("breakouts-error").textContent = panel.describe(error); };

function nameOf(client, id) {
  if (id === client.me?.id) return "you";
  return client.participants.get(id)?.name ?? "someone";
}

function classNameOf(client, id) {
  const classId = client.participants.get(id)?.class_id;
  return client.session?.classes.find((c) => c.id === classId)?.name ?? "";
}

function renderAll(panel) {
  const { client } = panel;
  if (!client.session) return;
  const breakouts = breakoutsOf(client);
  const mine = myGroup(client);
  $("breakouts-status").textContent = statusText(client, breakouts, mine);
  $("breakouts-open-form").hidden = breakouts.open;
  $("breakouts-running").hidden = !breakouts.open;
  $("breakouts-group").hidden = !(breakouts.open && (mine || teacher(client)));
  renderBroadcasts(client, breakouts);
  if (teacher(client)) renderTeacher(panel, breakouts);
  else renderStudent(client, mine);
  renderChat(panel);
  renderCountdown(panel);
  const board = teacher(client) ? breakouts.groups.find((g) => g.id === panel.teacherGroup) : mine;
  panel.showBoard(board?.board ?? "main", board ? `Whiteboard: ${board.name}` : "Whiteboard");
}

function statusText(client, breakouts, mine) {
  if (!breakouts.open) return "No breakout groups now: everyone is in the main room.";
  const count = breakouts.groups.length;
  if (teacher(client)) return `${count} breakout ${count === 1 ? "group is" : "groups are"} open.`;
  if (!mine) return "Breakout groups are open. You are in the main room: a teacher can add you to a group.";
  const others = mine.members.filter((id) => id !== client.me.id)
    .map((id) => `${nameOf(client, id)} (${classNameOf(client, id)})`);
  return `You are in ${mine.name}${others.length ? ` with ${others.join(", ")}` : ""}.`;
}

function renderBroadcasts(client, breakouts) {
  const items = breakouts.broadcasts.map((b) => {
    const item = document.createElement("li");
    const from = b.by === client.me?.id ? "You" : nameOf(client, b.by);
    item.textContent = `${from} to all groups: ${b.text}`;
    return item;
  });
  $("breakouts-broadcasts").replaceChildren(...items);
}

function renderCountdown(panel) {
  const { client } = panel;
  const breakouts = breakoutsOf(client);
  const timed = breakouts.open && Boolean(breakouts.ends_at);
  $("breakouts-time").hidden = !timed;
  if (timed) {
    const left = groupRemainingMs(client);
    $("breakouts-countdown").textContent = left ? formatRemaining(left) : "time is up (a teacher closes the groups)";
  }
}

// --- student --------------------------------------------------------------------------------

function renderStudent(client, mine) {
  const call = $("breakouts-call");
  call.disabled = !mine || Boolean(mine.call);
  const notes = [];
  if (mine?.call) notes.push("You called a teacher: one will come to your group.");
  const visitors = (mine?.visitors ?? []).map((id) => nameOf(client, id));
  if (visitors.length) notes.push(`${visitors.join(", ")} ${visitors.length === 1 ? "is" : "are"} with your group.`);
  $("breakouts-mine").textContent = notes.join(" ");
}

// --- teacher --------------------------------------------------------------------------------

function renderTeacher(panel, breakouts) {
  const { client } = panel;
  $("breakouts-groups").replaceChildren(...breakouts.groups.map((g) => groupItem(panel, g)));
  const students = [...client.participants.values()].filter((p) => p.role === "student");
  fillSelect($("breakouts-move-who"), students.map((p) => [p.id, `${p.name} (${classNameOf(client, p.id)})`]));
  const places = [[MAIN_ROOM, "Main room"], ...breakouts.groups.map((g) => [g.id, g.name])];
  fillSelect($("breakouts-move-to"), places);
  fillSelect($("breakouts-chat-group"), breakouts.groups.map((g) => [g.id, g.name]));
  const calling = breakouts.groups.filter((g) => g.call).map((g) => g.name);
  $("breakouts-alerts").textContent = calling.length ? `Calling a teacher: ${calling.join(", ")}.` : "";
}

function groupItem(panel, group) {
  const { client } = panel;
  const item = document.createElement("li");
  item.dataset.group = group.id;
  const heading = document.createElement("strong");
  heading.textContent = group.name;
  const members = document.createElement("span");
  members.className = "members";
  members.textContent = `: ${byClass(client, group.members)}`;
  item.append(heading, members);
  if (group.visitors.length) item.append(` · with ${group.visitors.map((id) => nameOf(client, id)).join(", ")}`);
  if (group.call) {
    const alert = document.createElement("span");
    alert.className = "call";
    alert.textContent = ` · ${nameOf(client, group.call.by)} calls a teacher`;
    item.append(alert, button(panel, `Answer ${group.name}'s call`, "Answer", () => answerCall(client, group.id)));
  }
  const here = group.visitors.includes(client.me.id);
  item.append(
    button(panel, `${here ? "Leave" : "Visit"} ${group.name}`, here ? "Leave" : "Visit",
      () => visitGroup(client, here ? null : group.id)),
    button(panel, `Show ${group.name}'s board`, "Show board", () => {
      panel.teacherGroup = group.id;
      renderAll(panel);
      return Promise.resolve();
    }),
  );
  return item;
}

function byClass(client, members) {
  const classes = new Map();
  for (const id of members) {
    const name = classNameOf(client, id);
    if (!classes.has(name)) classes.set(name, []);
    classes.get(name).push(nameOf(client, id));
  }
  if (!classes.size) return "nobody";
  return [...classes].map(([cls, names]) => `${cls}: ${names.join(", ")}`).join("; ");
}

function button(panel, label, text, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.setAttribute("aria-label", label);
  element.addEventListener("click", () => {
    $("breakouts-error").textContent = "";
    action().catch(fail(panel));
  });
  return element;
}

function fillSelect(select, options) {
  const chosen = select.value;
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  if (options.some(([value]) => value === chosen)) select.value = chosen;
}

// --- group chat -----------------------------------------------------------------------------

function renderChat(panel) {
  const { client } = panel;
  if (!client.me) return;
  const groups = new Map(breakoutsOf(client).groups.map((g) => [g.id, g]));
  const mine = myGroup(client)?.id;
  const posts = [...client.chat.values()].filter((m) => m.group && (teacher(client) ? groups.has(m.group) : m.group === mine));
  $("breakouts-chat").replaceChildren(...posts.map((post) => {
    const item = document.createElement("li");
    item.dataset.message = String(post.id);
    const where = teacher(client) ? `[${groups.get(post.group)?.name}] ` : "";
    item.textContent = `${where}${nameOf(client, post.from)}: ${post.text}`;
    return item;
  }));
}

// --- forms ----------------------------------------------------------------------------------

function wireForms(panel) {
  const { client } = panel;
  const onSubmit = (id, action) => $(id).addEventListener("submit", (e) => {
    e.preventDefault();
    $("breakouts-error").textContent = "";
    action().catch(fail(panel));
  });
  onSubmit("breakouts-open-form", () => openBreakouts(client, {
    size: Number($("breakouts-size").value),
    minutes: Number($("breakouts-minutes").value) || undefined,
  }));
  onSubmit("breakouts-move-form", () => moveToGroup(client, $("breakouts-move-who").value, $("breakouts-move-to").value || null));
  onSubmit("breakouts-broadcast-form", () => broadcastToGroups(client, $("breakouts-broadcast-text").value)
    .then(() => { $("breakouts-broadcast-text").value = ""; }));
  onSubmit("breakouts-chat-form", () => {
    const group = teacher(client) ? $("breakouts-chat-group").value : myGroup(client)?.id;
    return sendGroupChat(client, group, $("breakouts-chat-text").value)
      .then(() => { $("breakouts-chat-text").value = ""; });
  });
  $("breakouts-close").addEventListener("click", () => closeBreakouts(client).catch(fail(panel)));
  $("breakouts-call").addEventListener("click", () => callTeacher(client).catch(fail(panel)));
  $("breakouts-main-board").addEventListener("click", () => {
    panel.teacherGroup = null;
    renderAll(panel);
  });
}

function announceCall(panel) {
  if (!teacher(panel.client)) return;
  renderAll(panel); // the alert region says which groups call
}
