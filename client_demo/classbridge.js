// classbridge.js: the browser SDK for Classbridge (docs/protocol.md, JSON subprotocol).
//
//   import { Classbridge } from "/classbridge.js";
//   const client = new Classbridge({ token });
//   client.on("chat", (change) => ...);
//   await client.connect();              // resolves at the first welcome
//   await client.sendChat("Bom dia!");   // resolves with the ack ({seq}), rejects with an error
//
// One connection at a time, reconnected with exponential backoff and jitter, resumed from the
// last seq and epoch it saw (section 9). The client keeps a replica of the session: participants
// (with presence), chat, settings and the whiteboards (built with board.js, the same rules as the
// server's reducer). Everything that changes is announced through `on(name, fn)`:
//
//   "state"     {state, attempt?, delayMs?, code?, reason?, error?}: idle, connecting, live,
//               reconnecting, stopped (after `leave()`, or a close reconnecting cannot fix),
//               waiting (in the lobby until a teacher lets us in: lobby.js, section 23)
//   "welcome"   {resume, participant}; "event": every log event, after it was applied
//   "presence"  {type: "reset"} | {type: "joined" | "left", participant}
//   "chat"      {type: "reset"} | {type: "posted", message} | {type: "deleted", id}
//   "board"     {board, kind, reset?}: a board changed (kind: the event kind or "board.records")
//   "cursors"   [{from, board, x, y}]: other people's newest pointer positions
//   "typing"    {from}; "settings" {settings}; "signal": peer.signal messages
//   "iceServers" {servers, expiresAt}: ICE servers from the welcome or a refresh (scheduled here
//               before the TURN credentials expire: expires_at - min(10 min, lifetime / 5))
//   "media"     {type: "change"}: video connections or remote streams changed (media.js)
//   "agenda"    {kind, agenda}: the agenda or a reflection changed (agenda.js: countdown, commands)
//   "moderation" {kind, moderation}; "muted" {audio, video, by}: mute requests, removals, lock,
//               end, class permissions (moderation.js; asked-muted local tracks are turned off)
//   "breakouts" {kind, breakouts}: breakout groups changed (breakouts.js: groups, commands)
//   "hands"     {kind, hands}; "polls" {kind, poll}; "reaction" {from, emoji} (classroom.js)
//   "lobby"     {kind, lobby}: our own wait, or (teachers) who waits changed (lobby.js)
//   "error"     a ClassbridgeError no request was waiting for (or the reason the client stopped)
//
// Video (hosts, teachers, stations, and students a teacher granted it: session.media.grants):
// `await client.media.start({stream})`, see media.js.
//
// No dependencies, no build step.

import { Media, takesPartInVideo } from "./media.js";
import { applyAgendaEvent, syncClock } from "./agenda.js";
import { applyBreakoutEvent } from "./breakouts.js";
import { applyClassroomEvent, dropHand } from "./classroom.js";
import { applyModerationEvent, watchMuteRequests } from "./moderation.js";
import { applyLobbyEvent, enterLobby } from "./lobby.js";
import { applyBoardEvent, applyRecords, applySnapshot as applyBoardSnapshot, createBoards } from "./board.js";

export const SUBPROTOCOL = "classbridge.v1.json";

// Each takes (client, seq, kind, data, ts), updates client.session and emits what changed,
// and returns true when the event was its own.
const FEATURE_APPLIERS = [applyAgendaEvent, applyBreakoutEvent, applyModerationEvent, applyClassroomEvent, applyLobbyEvent];

// Close codes after which reconnecting cannot help (section 17). The first group needs a new
// token or session; the second are client bugs that a retry would only repeat.
export const TOKEN_CLOSE_CODES = Object.freeze({
  4004: "session_not_found",
  4010: "token_invalid",
  4011: "token_expired",
  4012: "wrong_session",
  // Moderation (section 24): a teacher removed us, ended the session, locked it, or barred us.
  4006: "removed",
  4007: "session_ended",
  4015: "session_locked",
  4016: "barred",
  4014: "lobby_denied", // a teacher did not let us in from the lobby (section 23)
});
export const CLIENT_BUG_CLOSE_CODES = Object.freeze({
  1009: "message_too_big",
  4001: "join_timeout",
  4002: "bad_join",
  4003: "too_many_errors",
  4005: "unsupported_subprotocol",
  4013: "too_many_connections", // another tab must close first: the page decides when to retry
});

// Close code of a server that is restarting or draining: reconnect at once and resume.
export const RESTART_CLOSE_CODE = 1012;
const RESTART_JITTER_MS = 250;

const DEFAULTS = {
  url: null, // ws(s)://host/ws; by default the page's own server
  session: null, // the session id this token must belong to (a join with another fails: 4012)
  backoff: { initialMs: 500, maxMs: 15000 },
  requestTimeoutMs: 10000,
  cursorIntervalMs: 50, // the server forwards a cursor at most every 50 ms: ~20 per second
  typingIntervalMs: 2000, // the server allows about one typing hint a second
  strokeFlushMs: 40, // live strokes: one board.append every 30 to 50 ms (section 20)
  renewToken: null, // async () => new token for the same participant, asked on token_expired
  iceRetryMs: 30000, // a failed ice.refresh is tried again after this long
  WebSocket: globalThis.WebSocket,
};

// An error reply of the server, or a local failure (not_connected, disconnected, timeout).
export class ClassbridgeError extends Error {
  constructor(code, message, reply = {}) {
    super(message || code);
    this.name = "ClassbridgeError";
    this.code = code;
    this.detail = reply.detail;
    this.retryAfterMs = reply.retry_after_ms;
    this.current = reply.current; // offset_mismatch: the stroke as the server has it
  }
}

export class Classbridge {
  constructor(options) {
    if (!options || typeof options.token !== "string" || !options.token) {
      throw new TypeError("Classbridge needs {token}");
    }
    this.options = { ...DEFAULTS, ...options, backoff: { ...DEFAULTS.backoff, ...options.backoff } };
    this.token = options.token;
    this.state = "idle";
    this.me = null; // welcome.participant: {id, name, role, class_id}
    this.lobby = null; // {policy} while this client waits in the lobby (lobby.js)
    this.session = null; // {id, title, classes (without participants), settings, media}
    this.participants = new Map(); // id -> {id, name, role, class_id, present}
    this.chat = new Map(); // message id -> {id, from, class_id, text, ts, to?}, oldest first
    this.boards = createBoards(); // board.js replica
    this.cursors = new Map(); // participant id -> {from, board, x, y}
    this.seq = 0; // our position (section 8)
    this.epoch = null;
    this.lastResume = null; // "none" | "events" | "snapshot": what the last welcome was
    this.iceServers = null; // for new RTCPeerConnections: [{urls, username?, credential?}]
    this.iceExpiresAt = null; // when their TURN credentials expire (ms since the epoch)
    this._iceTimer = null;
    this._listeners = new Map();
    this._socket = null;
    this._attempt = 0; // reconnect attempts since the last welcome
    this._retryTimer = null;
    this._retryFloorMs = 0; // a rate-limited join says how long to wait
    this._pending = new Map(); // request id -> {resolve, reject, timer}
    this._nextId = 0;
    this._lastError = null; // the error reply that came just before a close
    this._joinId = null;
    this._connected = null; // {resolve, reject} of connect()
    this._cursor = { latest: null, timer: null, sentAt: -Infinity };
    this._typingSentAt = -Infinity;
    this._onOnline = () => { if (this._retryTimer !== null) this._open(); };
    this.media = new Media(this);
    watchMuteRequests(this); // moderation.js: mute requests hold for tracks started later
  }

  // --- events ---------------------------------------------------------------------------------

  on(name, listener) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(listener);
    return () => this.off(name, listener);
  }

  off(name, listener) {
    this._listeners.get(name)?.delete(listener);
  }

  _emit(name, value) {
    for (const listener of [...(this._listeners.get(name) || [])]) {
      try {
        listener(value);
      } catch (error) {
        // A broken listener must not break the replica: report it and carry on.
        setTimeout(() => { throw error; });
      }
    }
  }

  _setState(state, extra = {}) {
    this.state = state;
    this._emit("state", { state, ...extra });
  }

  // --- the connection -------------------------------------------------------------------------

  // Opens the connection; resolves with the first welcome, rejects if the client stops first.
  connect() {
    if (this.state === "live") return Promise.resolve(this.me);
    if (this._connected) return this._connected.promise;
    let settle;
    const promise = new Promise((resolve, reject) => { settle = { resolve, reject }; });
    this._connected = { ...settle, promise };
    if (this.state === "idle" || this.state === "stopped") {
      this._attempt = 0;
      globalThis.addEventListener?.("online", this._onOnline);
      this._open();
    }
    return promise;
  }

  // Leaves the session (logged at once for the others) and stops reconnecting.
  leave() {
    const socket = this._socket;
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "leave" }));
    this._stop("left", "You left the session.");
  }

  // Closes without leaving: the others see you go after the presence grace period.
  close() {
    this._stop("closed", "The connection was closed.");
  }

  _url() {
    if (this.options.url) return this.options.url;
    const { protocol, host } = globalThis.location;
    return `${protocol === "https:" ? "wss" : "ws"}://${host}/ws`;
  }

  _open() {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._dropSocket();
    this._setState(this._attempt === 0 && this.epoch === null ? "connecting" : "reconnecting",
      { attempt: this._attempt });
    const socket = new this.options.WebSocket(this._url(), [SUBPROTOCOL]);
    this._socket = socket;
    this._lastError = null;
    socket.onopen = () => {
      this._joinId = this._requestId();
      const join = { type: "join", token: this.token, id: this._joinId };
      if (this.epoch !== null) join.resume = { seq: this.seq, epoch: this.epoch };
      const session = this.options.session || this.session?.id;
      if (session) join.session = session;
      socket.send(JSON.stringify(join));
    };
    socket.onmessage = (frame) => {
      if (socket !== this._socket) return;
      let data;
      try { data = JSON.parse(frame.data); } catch { return; }
      for (const message of Array.isArray(data) ? data : [data]) {
        if (message && typeof message === "object" && socket === this._socket) this._handle(message);
      }
    };
    socket.onclose = (close) => {
      if (socket !== this._socket) return;
      this._socket = null;
      this._onClose(close.code, close.reason);
    };
  }

  _dropSocket() {
    const socket = this._socket;
    this._socket = null;
    if (!socket) return;
    // Never two connections at once: forget the old one's handlers before closing it.
    socket.onopen = socket.onmessage = socket.onclose = null;
    if (socket.readyState <= 1) socket.close();
  }

  _onClose(code, reason) {
    this._failPending("disconnected", "The connection was lost before the server answered.");
    const error = this._lastError;
    if (code === 1000 && reason === "left") {
      this._stop("left", "You left the session.");
    } else if (code === 4011 && this.options.renewToken) {
      this._renewAndRetry(code, reason);
    } else if (TOKEN_CLOSE_CODES[code] || CLIENT_BUG_CLOSE_CODES[code]) {
      // The close code names why (an earlier error reply, say chat_disabled, is not the reason).
      const name = TOKEN_CLOSE_CODES[code] || error?.code || CLIENT_BUG_CLOSE_CODES[code];
      this._stop(name, (error?.code === name && error.message) || reason || name, code);
    } else {
      if (code === 4029 && error?.retryAfterMs) this._retryFloorMs = error.retryAfterMs;
      this._scheduleReconnect(code, reason);
    }
  }

  async _renewAndRetry(code, reason) {
    this._setState("reconnecting", { attempt: this._attempt, code, reason });
    try {
      const token = await this.options.renewToken();
      if (typeof token !== "string" || !token) throw new Error("no token");
      this.token = token;
      this._scheduleReconnect(code, reason);
    } catch {
      this._stop("token_expired", "The join token has expired.", code);
    }
  }

  _scheduleReconnect(code, reason) {
    this._attempt += 1;
    const { initialMs, maxMs } = this.options.backoff;
    // Exponential backoff with "equal jitter": half of the step, plus a random part of the rest,
    // so that a whole class dropped by the same outage does not come back in one burst.
    const step = Math.min(maxMs, initialMs * 2 ** Math.min(this._attempt - 1, 16));
    let delayMs = Math.max(this._retryFloorMs, Math.round(step / 2 + Math.random() * step / 2));
    // 1012 "draining" (section 17): this server is stopping and the others are ready, so the
    // first try goes at once (a little jitter spreads a whole class). Refused again? The
    // usual backoff follows.
    if (code === RESTART_CLOSE_CODE && this._attempt === 1) delayMs = Math.round(Math.random() * RESTART_JITTER_MS);
    this._retryFloorMs = 0;
    this._retryTimer = setTimeout(() => this._open(), delayMs);
    this._setState("reconnecting", { attempt: this._attempt, delayMs, code, reason });
  }

  _stop(name, message, code) {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    clearTimeout(this._cursor.timer);
    this._cursor.timer = null;
    clearTimeout(this._iceTimer);
    this._iceTimer = null;
    this.media.stop();
    globalThis.removeEventListener?.("online", this._onOnline);
    this._dropSocket();
    this._failPending("disconnected", "The connection was closed before the server answered.");
    const error = new ClassbridgeError(name, message, { detail: code });
    if (this._connected) {
      this._connected.reject(error);
      this._connected = null;
    }
    this._setState("stopped", { code, error });
    if (name !== "left" && name !== "closed") this._emit("error", error);
  }

  // --- requests -------------------------------------------------------------------------------

  _requestId() {
    this._nextId += 1;
    return `r${this._nextId}`;
  }

  // Sends any client message and waits for its answer (ack, pong, ice.servers) or error.
  request(message) {
    const socket = this._socket;
    if (this.state !== "live" || !socket || socket.readyState !== 1) {
      return Promise.reject(new ClassbridgeError("not_connected", "Not connected: nothing was sent."));
    }
    const id = this._requestId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new ClassbridgeError("timeout", "The server did not answer in time."));
      }, this.options.requestTimeoutMs);
      this._pending.set(id, { resolve, reject, timer });
      socket.send(JSON.stringify({ ...message, id }));
    });
  }

  // Sends a message that wants no answer (cursor, typing). False when not connected.
  _fire(message) {
    const socket = this._socket;
    if (this.state !== "live" || !socket || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  _settle(id, settle) {
    const pending = this._pending.get(id);
    if (!pending) return false;
    this._pending.delete(id);
    clearTimeout(pending.timer);
    settle(pending);
    return true;
  }

  _failPending(code, message) {
    for (const id of [...this._pending.keys()]) {
      this._settle(id, (p) => p.reject(new ClassbridgeError(code, message)));
    }
  }

  // --- commands -------------------------------------------------------------------------------

  sendChat(text, { to } = {}) {
    // `to: null` would post to the whole room (section 5): only a real id makes a direct message.
    if (to !== undefined && (typeof to !== "string" || !to)) {
      return Promise.reject(new ClassbridgeError("invalid_message", "No recipient chosen."));
    }
    return this.request(to === undefined ? { type: "chat.send", text } : { type: "chat.send", text, to });
  }

  deleteChat(messageId) {
    return this.request({ type: "chat.delete", message_id: messageId });
  }

  updateSettings(settings) {
    return this.request({ type: "settings.update", settings });
  }

  ping() {
    return this.request({ type: "ping" });
  }

  // WebRTC signaling to one participant (or "relay"): fields are {description} or {candidate}.
  signal(to, pc, fields) {
    return this.request({ type: "signal", to, pc, ...fields });
  }

  // Fresh ICE servers (the answer also updates `iceServers` and announces "iceServers").
  refreshIce() {
    return this.request({ type: "ice.refresh" });
  }

  _setIceServers(servers, expiresAt) {
    this.iceServers = servers;
    this.iceExpiresAt = Number.isFinite(expiresAt) ? expiresAt : null;
    clearTimeout(this._iceTimer);
    this._iceTimer = null;
    if (this.iceExpiresAt !== null) {
      // protocol.md, "ice.refresh": at expires_at - min(10 minutes, lifetime / 5).
      const lifetime = this.iceExpiresAt - Date.now();
      const delay = Math.max(1000, lifetime - Math.min(600000, lifetime / 5));
      this._iceTimer = setTimeout(() => this._refreshIceLater(), delay);
    }
    this._emit("iceServers", { servers, expiresAt: this.iceExpiresAt });
  }

  _refreshIceLater() {
    this._iceTimer = null;
    this.refreshIce().catch((error) => {
      // Not connected: the next welcome brings fresh servers. Otherwise try again soon.
      if (error.code !== "not_connected" && error.code !== "disconnected" && this.state === "live") {
        this._iceTimer = setTimeout(() => this._refreshIceLater(), this.options.iceRetryMs);
      }
    });
  }

  // A typing hint, sent at most every `typingIntervalMs` however often this is called.
  typing() {
    if (this.me?.role === "observer") return false;
    const now = Date.now();
    if (now - this._typingSentAt < this.options.typingIntervalMs) return false;
    if (this._fire({ type: "typing" })) this._typingSentAt = now;
    return true;
  }

  // The pointer's position on a board; at most one message every `cursorIntervalMs`, the newest.
  cursor(board, x, y) {
    const cursor = this._cursor;
    cursor.latest = { type: "cursor", board, x: Math.round(x), y: Math.round(y) };
    if (cursor.timer !== null) return;
    const wait = cursor.sentAt + this.options.cursorIntervalMs - Date.now();
    const send = () => {
      cursor.timer = null;
      if (!cursor.latest) return;
      this._fire(cursor.latest);
      cursor.latest = null;
      cursor.sentAt = Date.now();
    };
    if (wait <= 0) send();
    else cursor.timer = setTimeout(send, wait);
  }

  // Board commands: each resolves with the ack ({seq}) or rejects with the server's error.
  board(boardId = "main") {
    const send = (type, fields = {}) => this.request({ type, board: boardId, ...fields });
    return {
      put: (record) => send("board.put", { record }),
      append: (record, offset, points, end = false) =>
        send("board.append", { record, offset, points, ...(end ? { end: true } : {}) }),
      patch: (record, props, z) =>
        send("board.patch", { record, ...(props ? { props } : {}), ...(z === undefined ? {} : { z }) }),
      delete: (records) => send("board.delete", { records }),
      undo: () => send("board.undo"),
      redo: () => send("board.redo"),
      clear: () => send("board.clear"),
      access: (access) => send("board.access", access),
      create: (title) => send("board.create", title === undefined ? {} : { title }),
      stroke: (style, x, y) => new LiveStroke(this, boardId, style, x, y),
    };
  }

  // A fresh record id: unique enough per participant (the server refuses a reused one).
  newRecordId() {
    const random = globalThis.crypto?.getRandomValues
      ? [...globalThis.crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("")
      : Math.random().toString(16).slice(2);
    return `r${random}`.slice(0, 40);
  }

  // --- messages from the server ---------------------------------------------------------------

  _handle(message) {
    switch (message.type) {
      case "welcome": return this._welcome(message);
      case "event": return this._event(message);
      case "board.records": return this._boardRecords(message);
      case "ack": case "pong": case "ice.servers":
        if (message.type === "ice.servers") this._setIceServers(message.servers || [], message.expires_at);
        return this._settle(message.id, (p) => p.resolve(message));
      case "error": return this._error(message);
      case "peer.cursors": return this._cursors(message.cursors);
      case "peer.typing": return this._emit("typing", { from: message.from });
      case "peer.reaction": return this._emit("reaction", { from: message.from, emoji: message.emoji });
      case "peer.signal": return this._emit("signal", message);
      case "lobby": return enterLobby(this, message); // waiting to be let in (lobby.js)
      default: return undefined; // unknown types: ignored (section 2)
    }
  }

  _welcome(message) {
    this._attempt = 0;
    this.me = message.participant;
    this.epoch = message.epoch;
    this.lastResume = message.resume;
    this.lobby = null; // let in (or never waited): lobby.js
    syncClock(this, message.server_time, { reset: true }); // the agenda's countdown (agenda.js)
    // With resume "events" the missed events follow and move the position on one by one, so
    // a drop during the replay resumes from the last one actually received (section 8).
    if (message.session) {
      this._snapshot(message.session);
      this.seq = message.seq;
    }
    this._setState("live", { resume: message.resume });
    if (message.ice_servers) this._setIceServers(message.ice_servers, message.ice_expires_at);
    this._emit("welcome", { resume: message.resume, participant: message.participant });
    if (this._connected) {
      this._connected.resolve(this.me);
      this._connected = null;
    }
  }

  _snapshot(session) {
    const { classes, chat, boards, ...rest } = session;
    this.session = { ...rest, classes: classes.map(({ participants, ...cls }) => cls) };
    this.participants.clear();
    for (const cls of classes) for (const p of cls.participants) this.participants.set(p.id, { ...p });
    this.chat.clear();
    for (const post of chat) this.chat.set(post.id, { ...post });
    this.cursors.clear();
    applyBoardSnapshot(this.boards, session);
    this._emit("presence", { type: "reset" });
    this._emit("chat", { type: "reset" });
    this._emit("settings", { settings: this.session.settings });
    for (const id of this.boards.keys()) this._emit("board", { board: id, kind: "snapshot", reset: true });
  }

  _boardRecords(message) {
    if (applyRecords(this.boards, message)) {
      this._emit("board", { board: message.board, kind: "board.records", reset: Boolean(message.last) });
    }
  }

  _event(message) {
    const { seq, kind, data, ts } = message;
    this.seq = seq;
    syncClock(this, ts);
    if (data && typeof data === "object") this._apply(seq, kind, data, ts);
    this._emit("event", message);
  }

  _apply(seq, kind, data, ts) {
    if (kind.startsWith("board.")) {
      if (applyBoardEvent(this.boards, seq, kind, data)) this._emit("board", { board: data.board, kind });
    } else if (kind === "participant.joined") {
      const p = data.participant;
      const known = this.participants.get(p.id);
      const participant = { ...known, ...p, present: true };
      this.participants.set(p.id, participant);
      this._emit("presence", { type: "joined", participant });
    } else if (kind === "participant.left") {
      const participant = this.participants.get(data.participant_id);
      if (participant) participant.present = false;
      if (this.session) dropHand(this, data.participant_id); // leaving lowers the hand (classroom.js)
      if (this.cursors.delete(data.participant_id)) this._emit("cursors", [...this.cursors.values()]);
      if (participant) this._emit("presence", { type: "left", participant });
    } else if (kind === "chat.posted") {
      const post = { id: seq, ts, ...data };
      this.chat.set(seq, post);
      this._emit("chat", { type: "posted", message: post });
    } else if (kind === "chat.deleted") {
      // Also sent for posts this client never saw: ignore unknown ids.
      if (this.chat.delete(data.message_id)) this._emit("chat", { type: "deleted", id: data.message_id });
    } else if (kind === "settings.changed" && this.session) {
      this.session.settings = { ...this.session.settings, ...data.changes };
      this._emit("settings", { settings: this.session.settings });
    } else if (kind === "media.topology" && this.session && this._presentPublishers(data.publishers)) {
      this.session.media = { ...this.session.media, topology: data.topology };
    } else if (kind === "media.relay_requested" && this.session) {
      this.session.media = { ...this.session.media, relay_requested: data.on };
    } else if (kind === "media.granted" && this.session) {
      const grants = new Set(this.session.media?.grants || []);
      if (data.on) grants.add(data.participant_id);
      else grants.delete(data.participant_id);
      this.session.media = { ...this.session.media, grants: [...grants].sort() };
    } else if (this.session) {
      // Classroom features keep their part of the replica in modules of their own.
      for (const apply of FEATURE_APPLIERS) if (apply(this, seq, kind, data, ts)) break;
    }
  }

  // A media.topology applies only if it was decided for the publishers present now (section 21).
  _presentPublishers(publishers) {
    if (!Array.isArray(publishers)) return true;
    const present = [...this.participants.values()]
      .filter((p) => p.present && takesPartInVideo(this.session, p)).map((p) => p.id).sort();
    const decided = [...publishers].sort();
    return present.length === decided.length && present.every((id, i) => id === decided[i]);
  }

  _error(message) {
    const error = new ClassbridgeError(message.code, message.message, message);
    this._lastError = error; // a join failure: the close that follows says what it meant
    if (message.id !== undefined && message.id === this._joinId) return; // reported by _stop
    if (message.id !== undefined && this._settle(message.id, (p) => p.reject(error))) return;
    this._emit("error", error);
  }

  _cursors(cursors) {
    if (!Array.isArray(cursors)) return;
    for (const cursor of cursors) {
      if (cursor.from !== this.me?.id) this.cursors.set(cursor.from, cursor);
    }
    this._emit("cursors", [...this.cursors.values()]);
  }
}

// A stroke drawn live: put with its first point, then an append every `strokeFlushMs` with the
// points since the last one (integers, at most 500 per append), `end: true` with the last.
export class LiveStroke {
  constructor(client, boardId, { color, width }, x, y) {
    this.client = client;
    this.board = client.board(boardId);
    this.id = client.newRecordId();
    this.points = [Math.round(x), Math.round(y)]; // every point so far, flat
    this.sent = 2; // how many numbers of `points` went out
    this.ended = false;
    this.failed = null; // the error that stopped it
    this._timer = null;
    const props = { points: [...this.points], color, width };
    this._chain = this.board.put({ id: this.id, kind: "stroke", props }).then(
      () => {},
      (error) => { this.failed = error; },
    );
  }

  add(x, y) {
    if (this.ended || this.failed) return;
    const px = Math.round(x);
    const py = Math.round(y);
    const n = this.points.length;
    if (this.points[n - 2] === px && this.points[n - 1] === py) return; // nothing new
    if (n >= 2 * 5000) return; // a stroke holds at most 5000 points (section 20)
    this.points.push(px, py);
    if (this._timer === null) {
      this._timer = setTimeout(() => {
        this._timer = null;
        this._queue(false);
      }, this.client.options.strokeFlushMs);
    }
  }

  // The last points with `end: true`. Resolves when the server has them; rejects with the error
  // that stopped the stroke (the put refused: a locked board, no permission; the connection lost).
  async end() {
    if (!this.ended) {
      this.ended = true;
      clearTimeout(this._timer);
      this._timer = null;
      this._queue(true);
    }
    await this._chain;
    if (this.failed) throw this.failed;
  }

  // One append at a time, in order: each starts from the count the previous one left.
  _queue(end) {
    this._chain = this._chain.then(() => this._send(end));
    return this._chain;
  }

  async _send(end) {
    if (this.failed) return;
    let mismatches = 0;
    try {
      do {
        const chunk = this.points.slice(this.sent, this.sent + 1000); // 500 points at most
        const last = this.sent + chunk.length >= this.points.length;
        if (chunk.length === 0 && !end) return;
        try {
          await this.board.append(this.id, this.sent / 2, chunk, end && last);
          this.sent += chunk.length;
        } catch (error) {
          if (error.code !== "offset_mismatch" || !error.current) throw error;
          // The server has another count: if its points are a prefix of ours, go on from there.
          const theirs = error.current.props?.points || [];
          const prefix = theirs.length <= this.points.length && theirs.every((v, i) => v === this.points[i]);
          if (!prefix || !error.current.props.open || ++mismatches > 3) throw error;
          this.sent = theirs.length;
          if (end && this.sent === this.points.length) continue; // still to send: the end
        }
        if (end && last) return;
      } while (this.sent < this.points.length || end);
    } catch (error) {
      this.failed = error;
    }
  }
}
