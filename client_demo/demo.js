// A first demo page: join by link (?token=) or by class code, see who is here by class, chat.
// Protocol: docs/protocol.md (JSON subprotocol). The full browser client comes with the SDK.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { session: null, me: null, seq: 0, epoch: null, participants: new Map() };
let socket = null;
let retries = 0;
let requestId = 0;

function setStatus(text) { $("status").textContent = text; }

async function joinWithCode(code, name) {
  const response = await fetch("/api/join", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, name }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || body.code);
  return body.token;
}

function connect(token) {
  setStatus(retries ? "reconnecting…" : "connecting…");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  socket = new WebSocket(url, ["classbridge.v1.json"]);
  socket.onopen = () => {
    const join = { type: "join", token };
    if (state.epoch) join.resume = { seq: state.seq, epoch: state.epoch };
    socket.send(JSON.stringify(join));
  };
  socket.onmessage = (frame) => {
    const data = JSON.parse(frame.data);
    for (const message of Array.isArray(data) ? data : [data]) handle(message);
  };
  socket.onclose = (close) => {
    const fatal = { 4004: "This session has ended.", 4010: "This link is not valid.",
      4011: "This link has expired.", 4012: "This link is for another session." };
    if (fatal[close.code]) { setStatus(fatal[close.code]); return; }
    retries += 1;
    setStatus("reconnecting…");
    setTimeout(() => connect(token), Math.min(10000, 500 * 2 ** Math.min(retries, 5)));
  };
}

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
    setStatus("live");
    render();
  } else if (message.type === "event") {
    state.seq = message.seq;
    applyEvent(message);
  } else if (message.type === "error") {
    $("chat-error").textContent = message.message;
  }
}

function applySnapshot(session) {
  state.session = session;
  state.participants.clear();
  for (const cls of session.classes) for (const p of cls.participants) state.participants.set(p.id, p);
  $("chat").replaceChildren();
  for (const message of session.chat) addChat(message);
}

function applyEvent({ kind, data, seq, ts }) {
  if (kind === "participant.joined") {
    state.participants.set(data.participant.id, { ...data.participant, present: true });
  } else if (kind === "participant.left") {
    const p = state.participants.get(data.participant_id);
    if (p) p.present = false;
  } else if (kind === "chat.posted") {
    addChat({ id: seq, ts, ...data });
  } else if (kind === "chat.deleted") {
    document.querySelector(`[data-message="${data.message_id}"]`)?.remove();
  }
  renderPeople();
}

function addChat(message) {
  const item = document.createElement("li");
  item.dataset.message = message.id;
  const from = document.createElement("span");
  from.className = "from";
  const sender = state.participants.get(message.from);
  from.textContent = `${sender ? sender.name : "someone"}${message.to ? " (private)" : ""}: `;
  item.append(from, document.createTextNode(message.text));
  $("chat").append(item);
  item.scrollIntoView({ block: "nearest" });
}

function render() {
  $("join-form").hidden = true;
  $("session").hidden = false;
  $("title").textContent = state.session.title;
  $("me").textContent = `You are ${state.me.name} (${state.me.role})`;
  renderPeople();
}

function renderPeople() {
  if (!state.session) return;
  const blocks = state.session.classes.map((cls) => {
    const block = document.createElement("section");
    const heading = document.createElement("h4");
    heading.textContent = `${cls.name} (${cls.country})`;
    const list = document.createElement("ul");
    for (const p of state.participants.values()) {
      if (p.class_id !== cls.id) continue;
      const item = document.createElement("li");
      item.textContent = `${p.name} · ${p.role}${p.present ? "" : " (away)"}`;
      if (!p.present) item.className = "absent";
      list.append(item);
    }
    block.append(heading, list);
    return block;
  });
  $("classes").replaceChildren(...blocks);
}

$("chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("chat-text").value;
  if (!text.trim() || !socket || socket.readyState !== WebSocket.OPEN) return;
  requestId += 1;
  socket.send(JSON.stringify({ type: "chat.send", text, id: requestId }));
  $("chat-text").value = "";
  $("chat-error").textContent = "";
});

$("join-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    connect(await joinWithCode($("code").value, $("name").value));
  } catch (error) {
    $("join-error").textContent = error.message;
  }
});

if (params.get("token")) {
  connect(params.get("token"));
} else {
  $("code").value = params.get("code") || "";
  $("join-form").hidden = false;
}
