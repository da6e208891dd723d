// The demo classroom page, built on the SDK (classbridge.js). Join by link (?token=) or by class
// code and name; then one of three views by the token's role: teacher (and host), student,
// station (observers get a read-only student view). Everything that comes from people (names,
// titles, chat text, board text) is shown with textContent or canvas fillText only.
import { Classbridge } from "./classbridge.js";
import { BOARD_HEIGHT, BOARD_WIDTH, boardPoint, drawBoard } from "./board_canvas.js";
import { followVideo } from "./video.js";
import * as videoGrantsPanel from "./panel_video_grants.js";
import * as exportPanel from "./panel_export.js";
import * as agendaPanel from "./panel_agenda.js";
import * as moderationPanel from "./panel_moderation.js";
import * as breakoutsPanel from "./panel_breakouts.js";
import * as handsPanel from "./panel_hands.js";
import * as pollsPanel from "./panel_polls.js";
import * as lobbyPanel from "./panel_lobby.js";

const $ = (id) => document.getElementById(id);
// The board shown: a breakout group's while the student is in one (panel_breakouts.js).
let BOARD = "main";

// --- The join token: out of the address bar at once, kept in this tab's sessionStorage. -------

const STORAGE_KEY = "classbridge.demo.join";
const params = new URLSearchParams(location.search);
const linkToken = params.get("token");
if (params.has("token")) {
  // A link with a token is a credential: drop it from the address bar and from this history
  // entry before anything else happens (the projector, the back button, a copied address).
  params.delete("token");
  const query = params.toString();
  history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
}
const normalizeCode = (code) => (code || "").toUpperCase().replace(/[^\p{L}\p{N}]/gu, "");
const pageCode = normalizeCode(params.get("code"));

function loadEntry() {
  try {
    const entry = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
    return entry && typeof entry.token === "string" && entry.token ? entry : null;
  } catch {
    return null;
  }
}
function saveEntry(entry) {
  try { sessionStorage.setItem(STORAGE_KEY, JSON.stringify(entry)); } catch { /* storage off */ }
}
function forgetEntry() {
  try { sessionStorage.removeItem(STORAGE_KEY); } catch { /* storage off */ }
}

async function joinWithCode(code, name) {
  let response;
  try {
    response = await fetch("/api/join", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, name }),
    });
  } catch {
    throw new Error("Could not reach the server. Check the connection and try again.");
  }
  let body = {};
  try { body = await response.json(); } catch { /* not JSON: use the status below */ }
  if (response.ok && typeof body.token === "string") return body.token;
  if (body.code === "unknown_code") throw new Error("No class has this code. Check it and try again.");
  if (body.code === "rate_limited") {
    const wait = Number(response.headers.get("retry-after")) || 1;
    throw new Error(`Too many attempts. Wait ${wait} s and try again.`);
  }
  throw new Error(body.message || `Joining failed (HTTP ${response.status}).`);
}

function showJoinForm(message) {
  $("session").hidden = true;
  $("join-form").hidden = false;
  $("join-error").textContent = message || "";
  if (!$("code").value) $("code").value = params.get("code") || "";
  ($("code").value ? $("name") : $("code")).focus();
}

// --- Connection state and the messages for a client that stopped --------------------------------

let client = null;
let entry = null;

const STOP_MESSAGES = {
  token_expired: "This join link has expired.",
  token_invalid: "This join link is not valid.",
  wrong_session: "This join link is for another session.",
  session_not_found: "This session has ended.",
  removed: "You were removed from the session by a teacher.",
  session_ended: "The session has ended.",
  session_locked: "This session is locked. Ask your teacher to let you in, then reload this page.",
  barred: "You were removed from the session by a teacher and cannot join it again.",
  lobby_denied: "A teacher did not let you in. Reload the page to ask again.",
  too_many_connections: "This session is already open in too many tabs or devices. Close one, then reload this page.",
  unsupported_subprotocol: "This page and the server do not speak the same protocol version. Reload the page.",
};
const NEEDS_NEW_LINK = new Set(["token_expired", "token_invalid", "wrong_session"]);
const ENDED = new Set(["session_not_found", "session_ended"]); // no token of it works any more

function setStatus(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function onState({ state, attempt, delayMs, error }) {
  if (state === "connecting") setStatus("Connecting…", "connecting");
  else if (state === "live") setStatus("Live", "live");
  else if (state === "waiting") setStatus("Waiting for a teacher to let you in", "waiting"); // lobby
  else if (state === "reconnecting") {
    const wait = delayMs === undefined ? "" : ` in ${Math.max(1, Math.round(delayMs / 1000))} s`;
    setStatus(attempt ? `Connection lost. Reconnecting${wait} (attempt ${attempt})…` : "Reconnecting…", "reconnecting");
  } else if (state === "stopped") onStopped(error);
}

function onStopped(error) {
  const code = error?.code;
  if (code === "left") {
    setStatus("You have left the session.", "stopped");
    return;
  }
  let message = STOP_MESSAGES[code] || `The connection was closed (${code}). Reload the page to try again.`;
  if (NEEDS_NEW_LINK.has(code) || ENDED.has(code)) forgetEntry();
  const viaCode = entry?.via === "code";
  if (NEEDS_NEW_LINK.has(code)) {
    message += viaCode ? " Join again with your class code." : " Ask your teacher for a new link.";
  }
  setStatus(ENDED.has(code) ? "Session ended" : "Not connected", "stopped");
  $("fatal").textContent = message;
  $("fatal").hidden = false;
  if (NEEDS_NEW_LINK.has(code) && viaCode) showJoinForm();
}

// --- Views --------------------------------------------------------------------------------------

const isTeacher = () => ["teacher", "host"].includes(client?.me?.role);
const VIEWS = { host: "teacher", teacher: "teacher", student: "student", station: "station", observer: "observer" };

function renderSession() {
  const { me, session } = client;
  document.body.dataset.view = VIEWS[me.role] || "student";
  $("join-form").hidden = true;
  $("fatal").hidden = true;
  $("session").hidden = false;
  $("title").textContent = session.title;
  document.title = `${session.title} · Classbridge`;
  const cls = session.classes.find((c) => c.id === me.class_id);
  $("me").textContent = `You are ${me.name} (${me.role}${cls ? `, ${cls.name}` : ""})`;
  renderPeople();
  renderChat();
  renderAccess();
  followVideo(client); // stations, teachers, and students a teacher lets present
  scheduleDraw();
}

const nameOf = (id) => {
  if (client.me && id === client.me.id) return "You";
  return client.participants.get(id)?.name ?? "someone";
};

function renderPeople() {
  if (!client.session || !isTeacher()) return;
  const blocks = client.session.classes.map((cls) => {
    const block = document.createElement("section");
    const people = [...client.participants.values()].filter((p) => p.class_id === cls.id);
    const here = people.filter((p) => p.present).length;
    const heading = document.createElement("h4");
    heading.textContent = `${cls.name} (${cls.country}) · ${here} here`;
    const list = document.createElement("ul");
    for (const p of people) {
      const item = document.createElement("li");
      item.className = p.present ? "present" : "absent";
      item.dataset.participant = p.id;
      const you = p.id === client.me.id ? " (you)" : "";
      item.textContent = `${p.name}${you} · ${p.role}${p.present ? "" : " (away)"}`;
      list.append(item);
    }
    block.append(heading, list);
    return block;
  });
  $("classes").replaceChildren(...blocks);
}

// --- Chat ---------------------------------------------------------------------------------------

function chatLabel(message) {
  if (!message.to) return `${nameOf(message.from)}: `;
  if (message.to === client.me.id) return `${nameOf(message.from)} → you: `;
  return `${nameOf(message.from)} → ${nameOf(message.to)}: `;
}

function chatItem(message) {
  const item = document.createElement("li");
  item.dataset.message = String(message.id);
  if (message.to) {
    item.className = "dm";
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "Private";
    item.append(badge, " ");
  }
  if (Number.isFinite(message.ts)) {
    const time = document.createElement("time");
    const when = new Date(message.ts);
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    item.append(time, " ");
  }
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = chatLabel(message);
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = message.text;
  item.append(from, text);
  if (isTeacher()) {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete the message from ${nameOf(message.from)}`);
    remove.addEventListener("click", () => {
      client.deleteChat(message.id).catch((error) => { $("chat-error").textContent = describe(error); });
    });
    item.append(remove);
  }
  return item;
}

function renderChat() {
  // Breakout groups' posts are shown in their panel (panel_breakouts.js), not here.
  $("chat").replaceChildren(...[...client.chat.values()].filter((m) => !m.group).map(chatItem));
  $("chat").lastElementChild?.scrollIntoView({ block: "nearest" });
}

function onChat(change) {
  if (!client.me) return;
  if (change.type === "reset") renderChat();
  else if (change.type === "posted" && !change.message.group) {
    const item = chatItem(change.message);
    $("chat").append(item);
    item.scrollIntoView({ block: "nearest" });
    if (typingTimers.delete(change.message.from)) renderTyping();
  } else if (change.type === "deleted") {
    $("chat").querySelector(`li[data-message="${Number(change.id)}"]`)?.remove();
  }
}

function describe(error) {
  if (error.code === "rate_limited") {
    return `Slow down: try again in ${Math.max(1, Math.ceil((error.retryAfterMs || 1000) / 1000))} s.`;
  }
  if (error.code === "not_connected") return "Not connected: nothing was sent. Wait until the page is live again.";
  if (error.code === "disconnected") return "The connection dropped before the server answered. Check whether it arrived.";
  if (error.code === "board_locked") return "The board is locked by a teacher.";
  if (error.code === "forbidden") return "You may not do that now.";
  if (error.code === "nothing_to_undo") return "Nothing to undo.";
  return error.message || error.code || "Something went wrong.";
}

$("chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("chat-text").value;
  if (!text.trim() || !client) return;
  $("chat-error").textContent = "";
  client.sendChat(text).then(
    () => { if ($("chat-text").value === text) $("chat-text").value = ""; },
    (error) => { $("chat-error").textContent = describe(error); },
  );
});

// Typing hints (not logged: shown for a moment only).
const TYPING_SHOWN_MS = 3000;
const typingTimers = new Map(); // participant id -> timer that hides the hint

function onTyping({ from }) {
  if (typeof from !== "string") return;
  clearTimeout(typingTimers.get(from));
  typingTimers.set(from, setTimeout(() => {
    typingTimers.delete(from);
    renderTyping();
  }, TYPING_SHOWN_MS));
  renderTyping();
}

function renderTyping() {
  const names = [...typingTimers.keys()].map(nameOf);
  $("typing").textContent = names.length === 0 ? ""
    : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

$("chat-text").addEventListener("input", () => client?.typing());

// --- Whiteboard ---------------------------------------------------------------------------------

const canvas = $("canvas");
canvas.width = BOARD_WIDTH;
canvas.height = BOARD_HEIGHT;
let drawQueued = false;
let live = null; // what this page is drawing now: {stroke} (a LiveStroke) or {rect}
let placeAt = 0; // where the next keyboard-placed text goes

function scheduleDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    const board = client?.boards.get(BOARD);
    const overlay = [];
    if (live?.stroke) {
      const echoed = board?.records.get(live.stroke.id);
      // Our own points come back with the events; until then draw them from here.
      if (!echoed || echoed.props.points.length < live.stroke.points.length) {
        overlay.push({ kind: "stroke", props: { points: live.stroke.points, color: live.color, width: live.width } });
      }
    }
    if (live?.rect) overlay.push({ kind: "rect", props: live.rect });
    const cursors = client ? [...client.cursors.values()].filter((c) => c.board === BOARD) : [];
    drawBoard(canvas, board, { live: overlay, cursors, nameOf });
  });
}

// Switch the whiteboard to another board (a breakout group's, or back to "main").
function showBoard(id, heading = "Whiteboard") {
  $("board-heading").textContent = heading;
  if (BOARD === id) return;
  BOARD = id;
  live = null; // a stroke in progress belonged to the other board
  $("board-error").textContent = "";
  renderAccess();
  scheduleDraw();
}

function mayDraw() {
  const board = client?.boards.get(BOARD);
  const me = client?.me;
  if (!board || !me || me.role === "observer" || client.state !== "live") return false;
  if (board.access.locked) return false;
  if (isTeacher()) return true;
  const { mode, classes, participants } = board.access;
  return mode === "everyone" || (mode === "selected" && (classes.includes(me.class_id) || participants.includes(me.id)));
}

function renderAccess() {
  const board = client?.boards.get(BOARD);
  if (!board) return;
  const { mode, locked } = board.access;
  let text = "Everyone may draw.";
  if (locked) text = "The board is locked: nobody draws until a teacher unlocks it.";
  else if (mode === "teachers") text = "Only teachers draw now.";
  else if (mode === "selected") text = mayDraw() ? "Your class may draw." : "Only selected classes draw now.";
  // A breakout group's board lists its members (panel_breakouts.js).
  if (!locked && mode === "selected" && board.access.participants.includes(client.me?.id)) text = "Your group may draw.";
  $("board-access").textContent = text;
  const allowed = mayDraw();
  canvas.setAttribute("aria-disabled", String(!allowed));
  for (const control of $("toolbar").querySelectorAll("input, select, button")) control.disabled = !allowed;
  $("access-mode").value = mode === "teachers" ? "teachers" : "everyone";
  $("access-locked").checked = Boolean(locked);
}

const tool = () => document.querySelector('input[name="tool"]:checked').value;
const color = () => $("color").value;
const boardCommands = () => client.board(BOARD);
const showBoardError = (error) => { $("board-error").textContent = describe(error); };

canvas.addEventListener("pointerdown", (e) => {
  if (!mayDraw() || e.button !== 0) return;
  e.preventDefault();
  canvas.focus({ preventScroll: true });
  canvas.setPointerCapture(e.pointerId);
  $("board-error").textContent = "";
  const { x, y } = boardPoint(canvas, e);
  const kind = tool();
  if (kind === "pen") {
    live = { stroke: boardCommands().stroke({ color: color(), width: 4 }, x, y), color: color(), width: 4, pointer: e.pointerId };
  } else if (kind === "rect") {
    live = { rect: { x, y, w: 0, h: 0, color: color(), width: 3, fill: null }, from: { x, y }, pointer: e.pointerId };
  } else {
    placeText(kind, x, y);
  }
  scheduleDraw();
});

canvas.addEventListener("pointermove", (e) => {
  if (!client || client.state !== "live") return;
  const { x, y } = boardPoint(canvas, e);
  if (client.me.role !== "observer") client.cursor(BOARD, x, y);
  if (!live || live.pointer !== e.pointerId) return;
  if (live.stroke) {
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const event of events.length ? events : [e]) {
      const point = boardPoint(canvas, event);
      live.stroke.add(point.x, point.y);
    }
  } else if (live.rect) {
    Object.assign(live.rect, {
      x: Math.min(x, live.from.x), y: Math.min(y, live.from.y),
      w: Math.abs(x - live.from.x), h: Math.abs(y - live.from.y),
    });
  }
  scheduleDraw();
});

function finishDrawing(e) {
  if (!live || live.pointer !== e.pointerId) return;
  const done = live;
  if (done.stroke) {
    const { x, y } = boardPoint(canvas, e);
    done.stroke.add(x, y);
    done.stroke.end().catch(showBoardError).finally(() => {
      if (live === done) live = null;
      scheduleDraw();
    });
  } else if (done.rect) {
    live = null;
    if (done.rect.w > 0 || done.rect.h > 0) {
      boardCommands().put({ id: client.newRecordId(), kind: "rect", props: { ...done.rect } }).catch(showBoardError);
    }
  }
  scheduleDraw();
}
canvas.addEventListener("pointerup", finishDrawing);
canvas.addEventListener("pointercancel", finishDrawing);

function placeText(kind, x, y) {
  const text = $("board-text").value;
  if (!text.trim()) {
    $("board-error").textContent = "Type the text first, in the field “Text for text and notes”.";
    $("board-text").focus();
    return;
  }
  const props = kind === "note"
    ? { x, y, w: 180, h: 120, text, color: "#fff59d" }
    : { x, y, text, color: color(), size: 24 };
  boardCommands().put({ id: client.newRecordId(), kind, props }).then(
    () => { $("board-text").value = ""; },
    showBoardError,
  );
}

$("place-text").addEventListener("click", () => {
  if (!mayDraw()) return;
  // Keyboard users: place it near the middle, a little further down each time.
  const kind = tool() === "text" ? "text" : "note";
  placeAt = (placeAt + 1) % 8;
  placeText(kind, BOARD_WIDTH / 2 - 90 + placeAt * 20, BOARD_HEIGHT / 2 - 60 + placeAt * 20);
});

const undo = () => boardCommands().undo().catch(showBoardError);
const redo = () => boardCommands().redo().catch(showBoardError);
$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
canvas.addEventListener("keydown", (e) => {
  if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== "z" || !mayDraw()) return;
  e.preventDefault();
  (e.shiftKey ? redo : undo)();
});

// Teacher controls.
$("access-mode").addEventListener("change", () => {
  boardCommands().access({ mode: $("access-mode").value }).catch(showBoardError);
});
$("access-locked").addEventListener("change", () => {
  boardCommands().access({ locked: $("access-locked").checked }).catch(showBoardError);
});
$("clear-board").addEventListener("click", () => boardCommands().clear().catch(showBoardError));

// --- Start --------------------------------------------------------------------------------------

// Classroom panels in modules of their own: each exports mount(client, { describe }) and
// keeps its section of the page (in index.html, shown by data-for) up to date.
const PANELS = [videoGrantsPanel, exportPanel, agendaPanel, breakoutsPanel, moderationPanel, handsPanel, pollsPanel, lobbyPanel];

function start() {
  $("join-form").hidden = true;
  $("fatal").hidden = true;
  client = new Classbridge({ token: entry.token });
  // For debugging and the end-to-end tests: the SDK's replica of this page.
  window.classbridgeDemo = { client, media: client.media };
  client.on("state", (change) => {
    onState(change);
    renderAccess(); // drawing is off while not live
  });
  client.on("welcome", renderSession);
  client.on("presence", renderPeople);
  client.on("chat", onChat);
  client.on("typing", onTyping);
  client.on("board", (change) => {
    if (change.kind === "board.access_changed" || change.reset) renderAccess();
    scheduleDraw();
  });
  client.on("cursors", scheduleDraw);
  client.on("error", (error) => {
    if (client.state !== "stopped") $("chat-error").textContent = describe(error);
  });
  for (const panel of PANELS) panel.mount(client, { describe, showBoard });
  client.connect().catch(() => { /* shown by the state listener */ });
}

$("join-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = $("join-form").querySelector("button[type=submit]");
  button.disabled = true;
  $("join-error").textContent = "";
  try {
    const token = await joinWithCode($("code").value, $("name").value);
    // Kept for this tab: a reload rejoins as this participant instead of making a new one.
    entry = { token, via: "code", code: pageCode };
    saveEntry(entry);
    start();
  } catch (error) {
    $("join-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
});

if (linkToken) {
  entry = { token: linkToken, via: "link", code: "" };
  saveEntry(entry);
} else {
  const saved = loadEntry();
  // A token got with a class code belongs to the page opened with that code; a link's token to
  // the page opened without one. Another class code in the address means: join anew.
  if (saved && (saved.via === "code" ? (saved.code || "") === pageCode : !pageCode)) entry = saved;
}

if (entry) start();
else showJoinForm();
