// agenda.js: the session's agenda and reflections in the SDK (docs/protocol.md section 26).
//
// The replica is client.session.agenda, from the welcome's snapshot and then the agenda.* and
// reflection.answered events, applied exactly as the server's reducer applies them (a move
// whose `from` is no longer the running phase is ignored, so every client shows the phase
// the server has). Listeners get client.on("agenda", ({kind, agenda}) => ...).
//
// One countdown for everyone: a phase runs from `started_at` (the server's timestamp of the
// event that started it) for its minutes. Each client counts on the server's clock, estimated
// as Date.now() + offset, where offset is the largest (server ts - local receive time) seen
// since the last welcome: the welcome's server_time and every event's ts. A timestamp is
// always stamped before it is received, so each sample is at most the true offset minus the
// delivery delay, and the largest is the best estimate (old, replayed events only give
// smaller ones).
//
//   remainingMs(client)           ms left in the running phase (0 when none runs or time is up)
//   agendaCommands(client).next() start the agenda, or move to the next phase (or finish)
//   ... .back(), .finish(), .set(phases), .answer(phase, text)

const MINUTE_MS = 60_000;
export const NOT_STARTED = -1;
const KINDS = new Set(["agenda.changed", "agenda.moved", "agenda.finished", "reflection.answered"]);

// Note one server timestamp; `reset` at each welcome (the local clock may have been set).
export function syncClock(client, serverTs, { reset = false } = {}) {
  if (typeof serverTs !== "number") return;
  const sample = serverTs - Date.now();
  if (reset || client.clockOffset === undefined || sample > client.clockOffset) client.clockOffset = sample;
}

export function serverNow(client) {
  return Date.now() + (client.clockOffset || 0);
}

export function endsAt(agenda) {
  if (!agenda || agenda.current === NOT_STARTED || agenda.finished) return 0;
  const phase = agenda.phases[agenda.current];
  return phase ? agenda.started_at + phase.minutes * MINUTE_MS : 0;
}

export function remainingMs(client) {
  const end = endsAt(client.session?.agenda);
  return end ? Math.max(0, end - serverNow(client)) : 0;
}

// "mm:ss" (or "h:mm:ss") for a countdown.
export function formatRemaining(ms) {
  const total = Math.ceil(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

// The FEATURE_APPLIERS entry (classbridge.js): true when the event was the agenda's.
export function applyAgendaEvent(client, seq, kind, data, ts) {
  if (!KINDS.has(kind)) return false;
  const agenda = client.session.agenda;
  if (!agenda) return true; // a snapshot from a server without agendas: nothing to follow
  if (kind === "agenda.changed") applyChanged(agenda, data, ts);
  else if (kind === "agenda.moved") applyMoved(agenda, data, ts);
  else if (kind === "agenda.finished") applyFinished(agenda, data, ts);
  else applyAnswered(agenda, data, ts);
  agenda.ends_at = endsAt(agenda);
  client._emit("agenda", { kind, agenda });
  return true;
}

function applyChanged(agenda, data, ts) {
  const running = agenda.current !== NOT_STARTED && !agenda.finished;
  agenda.phases = data.phases.map((p) => ({ name: p.name, minutes: p.minutes, prompt: p.prompt ?? null }));
  const last = agenda.phases.length - 1;
  agenda.reached = Math.min(agenda.reached, last);
  if (running && agenda.current > last) Object.assign(agenda, { finished: true, finished_at: ts });
  agenda.current = Math.min(agenda.current, last);
}

function applyMoved(agenda, data, ts) {
  if (agenda.finished || agenda.current !== data.from) return; // lost a race: ignored
  if (!(data.to >= 0 && data.to < agenda.phases.length)) return;
  Object.assign(agenda, { current: data.to, started_at: ts, reached: Math.max(agenda.reached, data.to) });
}

function applyFinished(agenda, data, ts) {
  if (agenda.finished || agenda.current !== data.from) return;
  Object.assign(agenda, { finished: true, finished_at: ts });
}

function applyAnswered(agenda, data, ts) {
  const answer = {
    phase: data.phase, participant: data.by, class_id: data.class_id, prompt: data.prompt, text: data.text, ts,
  };
  const others = (agenda.reflections || []).filter((r) => r.phase !== data.phase || r.participant !== data.by);
  agenda.reflections = [...others, answer].sort((a, b) => a.phase - b.phase || a.ts - b.ts);
}

// The commands; each resolves with the ack or rejects with a ClassbridgeError. An ack means
// the move was logged: if another teacher's move came first it is ignored, and the agenda
// shows where the session really is.
export function agendaCommands(client) {
  const from = () => client.session?.agenda?.current ?? NOT_STARTED;
  return {
    next: () => client.request({ type: "agenda.advance", from: from() }),
    back: () => client.request({ type: "agenda.back", from: from() }),
    finish: () => client.request({ type: "agenda.finish", from: from() }),
    set: (phases) => client.request({ type: "agenda.set", phases }),
    answer: (phase, text) => client.request({ type: "reflection.answer", phase, text }),
  };
}

// The phase whose prompt a pupil answers now: the running one if it asks something, else the
// latest one reached that does (so a class can still answer after the agenda moved on).
export function openPrompt(agenda) {
  if (!agenda) return -1;
  const start = agenda.finished || agenda.current === NOT_STARTED ? agenda.reached : agenda.current;
  for (let i = Math.min(start, agenda.reached); i >= 0; i -= 1) if (agenda.phases[i]?.prompt) return i;
  return -1;
}
