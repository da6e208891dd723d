// A first demo page: join by link (?token=) or by class code, see who is here by class, chat.
// Protocol: docs/protocol.md (JSON subprotocol). The full browser client comes with the SDK.
// Everything that comes from people (names, titles, chat text) is shown with textContent only.
const $ = (id) => document.getElementById(id);

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
// The class code this page was opened with ("" for none), compared the way the server does.
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

// --- State ------------------------------------------------------------------------------------

const state = {
  entry: null,          // {token, via: "link" | "code", code}
  session: null,        // the snapshot, kept up to date with settings.changed
  me: null,             // welcome.participant
  seq: 0,               // our position (section 8 of the protocol)
  epoch: null,
  participants: new Map(),
  chat: new Map(),      // message id -> chat message, in display order
};
let socket = null;
let retries = 0;
let retryTimer = null;
let stopped = false;    // true after a fatal close or a leave: no more reconnects
let requestId = 0;

function setStatus(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.dataset.state = kind;
}

// --- Joining with a class code (POST /api/join) -------------------------------------------------

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

// --- The WebSocket ----------------------------------------------------------------------------

// Close codes after which reconnecting cannot help (protocol.md, section 17).
const TOKEN_PROBLEMS = {
  4010: "The join link or token is not valid.",
  4011: "The join link or token has expired.",
  4012: "The join link or token is for another session.",
};
const FATAL = {
  4001: "The server did not get the join message in time.",
  4002: "The server refused the join message.",
  4003: "The connection was closed after too many bad messages.",
  4004: "This session has ended or no longer exists.",
  4005: "This page and the server do not speak the same protocol version.",
  1009: "A message was too big for the server.",
  ...TOKEN_PROBLEMS,
};

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (stopped || !state.entry) return;
  if (socket) {
    // Never keep two connections: forget the old one's handlers before closing it.
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    socket.close();
  }
  setStatus(retries ? `Reconnecting… (attempt ${retries + 1})` : "Connecting…",
    retries ? "reconnecting" : "connecting");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const ws = new WebSocket(url, ["classbridge.v1.json"]);
  socket = ws;
  ws.onopen = () => {
    const join = { type: "join", token: state.entry.token, id: `join-${++requestId}` };
    if (state.epoch) join.resume = { seq: state.seq, epoch: state.epoch };
    if (state.session) join.session = state.session.id;
    ws.send(JSON.stringify(join));
  };
  ws.onmessage = (frame) => {
    if (ws !== socket) return;
    let data;
    try { data = JSON.parse(frame.data); } catch { return; }
    for (const message of Array.isArray(data) ? data : [data]) {
      if (message && typeof message === "object") handle(message);
    }
  };
  ws.onclose = (close) => {
    if (ws !== socket) return;
    socket = null;
    onClose(close.code, close.reason);
  };
}

function onClose(code, reason) {
  if (code === 1000 && reason === "left") {
    stop("You have left the session.");
  } else if (TOKEN_PROBLEMS[code]) {
    // The stored token will never work again: forget it. A student who came with a class code
    // can simply join again; a link needs a new link from the teacher.
    forgetEntry();
    const viaCode = state.entry.via === "code";
    const message = `${TOKEN_PROBLEMS[code]} ${viaCode ? "Join again with your class code." : "Ask your teacher for a new link."}`;
    stop(message);
    if (viaCode) showJoinForm(); // the status above says why

  } else if (code === 4004) {
    forgetEntry();
    stop(FATAL[code]);
  } else if (FATAL[code]) {
    stop(`${FATAL[code]} Reload the page to try again. (code ${code})`);
  } else {
    // 1006 (network), 1001 (going away), 1011, 1012, 4008 (slow consumer), unknown codes.
    scheduleReconnect();
  }
}

function stop(message) {
  stopped = true;
  clearTimeout(retryTimer);
  retryTimer = null;
  setStatus(message, "stopped");
}

function scheduleReconnect() {
  retries += 1;
  // Exponential backoff with jitter: about 1 s, 2 s, 4 s ... up to 15 s.
  const base = Math.min(15000, 500 * 2 ** Math.min(retries, 5));
  const delay = Math.round(base / 2 + Math.random() * base / 2);
  setStatus(`Connection lost. Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`, "reconnecting");
  retryTimer = setTimeout(connect, delay);
}

// Back on the network: no need to wait for the rest of the backoff.
window.addEventListener("online", () => { if (retryTimer) connect(); });

// --- Messages from the server -----------------------------------------------------------------

function handle(message) {
  if (message.type === "welcome") {
    retries = 0;
    state.me = message.participant;
    state.epoch = message.epoch;
    // With resume "events" the missed events follow; each one moves the position on, so a
    // drop in the middle of the replay resumes from the last one actually received.
    if (message.session) {
      applySnapshot(message.session);
      state.seq = message.seq;
    }
    $("chat-error").textContent = "";
    render();
    setStatus("Live", "live");
  } else if (message.type === "event") {
    state.seq = message.seq;
    applyEvent(message);
  } else if (message.type === "peer.typing") {
    showTyping(message.from);
  } else if (message.type === "error") {
    if (message.code === "rate_limited") {
      const wait = Math.max(1, Math.ceil((message.retry_after_ms || 1000) / 1000));
      $("chat-error").textContent = `Slow down: try again in ${wait} s.`;
    } else {
      $("chat-error").textContent = message.message || message.code || "Something went wrong.";
    }
  }
  // ack, pong and unknown types: nothing to do.
}

function applySnapshot(session) {
  state.session = session;
  state.participants.clear();
  for (const cls of session.classes) for (const p of cls.participants) state.participants.set(p.id, { ...p });
  state.chat.clear();
  $("chat").replaceChildren();
  for (const message of session.chat) addChat(message);
}

function applyEvent({ kind, data, seq, ts }) {
  if (!data || typeof data !== "object") return;
  if (kind === "participant.joined") {
    const p = data.participant;
    if (!p || typeof p.id !== "string") return;
    const known = state.participants.get(p.id);
    state.participants.set(p.id, { ...known, ...p, present: true });
    if (known && known.name !== p.name) relabelChat(p.id);
    renderPeople();
  } else if (kind === "participant.left") {
    const p = state.participants.get(data.participant_id);
    if (p) p.present = false;
    renderPeople();
  } else if (kind === "chat.posted") {
    addChat({ id: seq, ts, ...data });
    if (typingTimers.delete(data.from)) renderTyping(); // the message they were typing is here
  } else if (kind === "chat.deleted") {
    removeChat(data.message_id);
  } else if (kind === "settings.changed" && state.session) {
    state.session.settings = { ...state.session.settings, ...data.changes };
  }
  // Unknown kinds: ignored (their seq is still our position).
}

// --- Chat -------------------------------------------------------------------------------------

const nameOf = (id) => {
  if (state.me && id === state.me.id) return "You";
  return state.participants.get(id)?.name ?? "someone";
};

function chatLabel(message) {
  if (!message.to) return `${nameOf(message.from)}: `;
  if (state.me && message.to === state.me.id) return `${nameOf(message.from)} → you: `;
  return `${nameOf(message.from)} → ${nameOf(message.to)}: `;
}

function addChat(message) {
  if (state.chat.has(message.id)) return;
  state.chat.set(message.id, message);
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
  $("chat").append(item);
  item.scrollIntoView({ block: "nearest" });
}

function chatItem(id) {
  for (const item of $("chat").children) if (item.dataset.message === String(id)) return item;
  return null;
}

function removeChat(id) {
  // Also sent for posts this client never saw: ignore unknown ids.
  state.chat.delete(id);
  chatItem(id)?.remove();
}

function relabelChat(participantId) {
  for (const message of state.chat.values()) {
    if (message.from !== participantId && message.to !== participantId) continue;
    const from = chatItem(message.id)?.querySelector(".from");
    if (from) from.textContent = chatLabel(message);
  }
}

// --- Rendering ----------------------------------------------------------------------------------

function render() {
  $("join-form").hidden = true;
  $("session").hidden = false;
  $("title").textContent = state.session.title;
  document.title = `${state.session.title} · Classbridge`;
  const cls = state.session.classes.find((c) => c.id === state.me.class_id);
  $("me").textContent = `You are ${state.me.name} (${state.me.role}${cls ? `, ${cls.name}` : ""})`;
  renderPeople();
}

function renderPeople() {
  if (!state.session) return;
  const blocks = state.session.classes.map((cls) => {
    const block = document.createElement("section");
    const people = [...state.participants.values()].filter((p) => p.class_id === cls.id);
    const here = people.filter((p) => p.present).length;
    const heading = document.createElement("h4");
    heading.textContent = `${cls.name} (${cls.country}) · ${here} here`;
    const list = document.createElement("ul");
    for (const p of people) {
      const item = document.createElement("li");
      item.className = p.present ? "present" : "absent";
      const you = state.me && p.id === state.me.id ? " (you)" : "";
      item.textContent = `${p.name}${you} · ${p.role}${p.present ? "" : " (away)"}`;
      list.append(item);
    }
    block.append(heading, list);
    return block;
  });
  $("classes").replaceChildren(...blocks);
}

// --- Typing hints (not logged: they are only shown for a moment) -------------------------------

const TYPING_SHOWN_MS = 3000;
const TYPING_SENT_EVERY_MS = 2000; // the server allows about one a second
const typingTimers = new Map(); // participant id -> timer that hides the hint
let lastTypingSent = 0;

function showTyping(participantId) {
  if (typeof participantId !== "string") return;
  clearTimeout(typingTimers.get(participantId));
  typingTimers.set(participantId, setTimeout(() => {
    typingTimers.delete(participantId);
    renderTyping();
  }, TYPING_SHOWN_MS));
  renderTyping();
}

function renderTyping() {
  const names = [...typingTimers.keys()].map(nameOf);
  $("typing").textContent = names.length === 0 ? ""
    : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

$("chat-text").addEventListener("input", () => {
  const now = Date.now();
  const live = socket && socket.readyState === WebSocket.OPEN && $("status").dataset.state === "live";
  if (!live || state.me?.role === "observer" || now - lastTypingSent < TYPING_SENT_EVERY_MS) return;
  lastTypingSent = now;
  socket.send(JSON.stringify({ type: "typing" })); // no id: no ack wanted
});

// --- Forms ------------------------------------------------------------------------------------

$("chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("chat-text").value;
  if (!text.trim()) return;
  if (!socket || socket.readyState !== WebSocket.OPEN || $("status").dataset.state !== "live") {
    $("chat-error").textContent = "Not connected: the message was not sent.";
    return;
  }
  requestId += 1;
  socket.send(JSON.stringify({ type: "chat.send", text, id: requestId }));
  $("chat-text").value = "";
  $("chat-error").textContent = "";
});

$("join-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = $("join-form").querySelector("button[type=submit]");
  button.disabled = true;
  $("join-error").textContent = "";
  try {
    const token = await joinWithCode($("code").value, $("name").value);
    // Kept for this tab: a reload rejoins as this participant instead of making a new one.
    state.entry = { token, via: "code", code: pageCode };
    saveEntry(state.entry);
    start();
  } catch (error) {
    $("join-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
});

function start() {
  stopped = false;
  retries = 0;
  state.session = null;
  state.me = null;
  state.seq = 0;
  state.epoch = null;
  $("join-form").hidden = true;
  connect();
}

// --- Start ------------------------------------------------------------------------------------

if (linkToken) {
  state.entry = { token: linkToken, via: "link", code: "" };
  saveEntry(state.entry);
} else {
  const saved = loadEntry();
  // A token got with a class code belongs to the page opened with that code; a link's token to
  // the page opened without one. Another class code in the address means: join anew.
  if (saved && (saved.via === "code" ? (saved.code || "") === pageCode : !pageCode)) state.entry = saved;
}

if (state.entry) {
  start();
} else {
  setStatus("Not connected", "idle");
  showJoinForm();
}
