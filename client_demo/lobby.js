// lobby.js: the SDK's part of the lobby (docs/protocol.md section 23).
//
// A participant who must wait gets a `lobby` message instead of a welcome: the client's state
// becomes "waiting" (client.lobby = {policy}), no session replica exists yet and requests are
// refused locally (not_connected). When a teacher admits them, or the policy lets them in, the
// server sends the full welcome and the client goes "live" as after any join. A denial closes
// the connection with 4014 lobby_denied: the client stops (it does not reconnect).
//
// For teachers and hosts, client.session.lobby is the replica of who waits, by class:
//   {waiting: {<class id>: [{id, name, role, class_id, since}, ...]}}  (oldest first)
// kept up to date from the lobby.* events. Emits on the client:
//   "lobby" {kind, lobby}: the lobby changed (kind: the event kind, or "waiting" for our own wait)
//
// Commands (each resolves with the ack or rejects with a ClassbridgeError):
//   admit(client, "p_id") or admit(client, {class: "c1"}); deny(client, ...) the same;
//   setLobbyPolicy(client, "open" | "class" | "everyone").

export const LOBBY_POLICIES = Object.freeze(["open", "class", "everyone"]);
const KINDS = new Set(["lobby.waiting", "lobby.left", "lobby.admitted", "lobby.denied"]);

// The server's `lobby` message: the join is accepted, we wait.
export function enterLobby(client, message) {
  client._attempt = 0; // the connection works: a drop while waiting reconnects at once
  client.me = message.participant;
  client.lobby = { policy: message.policy };
  client._setState("waiting", { policy: message.policy });
  client._emit("lobby", { kind: "waiting", lobby: client.lobby });
}

function lobbyOf(client) {
  if (!client.session.lobby) client.session.lobby = { waiting: {} };
  return client.session.lobby;
}

function without(lobby, ids) {
  const gone = new Set(ids);
  const waiting = {};
  for (const [classId, entries] of Object.entries(lobby.waiting)) {
    waiting[classId] = entries.filter((entry) => !gone.has(entry.id));
  }
  return { ...lobby, waiting };
}

// A FEATURE_APPLIERS entry (classbridge.js): true when the event was a lobby event.
export function applyLobbyEvent(client, seq, kind, data, ts) {
  if (!KINDS.has(kind)) return false;
  if (!client.session.lobby && !["teacher", "host"].includes(client.me?.role)) return true;
  let lobby = lobbyOf(client);
  if (kind === "lobby.waiting") {
    const entry = { ...data.participant, since: ts };
    lobby = without(lobby, [entry.id]);
    const list = lobby.waiting[entry.class_id] || [];
    lobby.waiting[entry.class_id] = [...list, entry];
  } else if (kind === "lobby.left") {
    lobby = without(lobby, [data.participant_id]);
  } else {
    lobby = without(lobby, Array.isArray(data.participants) ? data.participants : []);
  }
  client.session.lobby = lobby;
  client._emit("lobby", { kind, lobby });
  return true;
}

// Everyone waiting, in class order then oldest first.
export function waitingList(client) {
  const lobby = client.session?.lobby;
  if (!lobby) return [];
  return Object.values(lobby.waiting).flat();
}

function target(who) {
  if (typeof who === "string") return { participant: who };
  if (who && typeof who.class === "string") return { class: who.class };
  if (who && typeof who.participant === "string") return { participant: who.participant };
  throw new TypeError("admit/deny need a participant id or {class}");
}

export function admit(client, who) {
  return client.request({ type: "lobby.admit", ...target(who) });
}

export function deny(client, who) {
  return client.request({ type: "lobby.deny", ...target(who) });
}

export function setLobbyPolicy(client, policy) {
  return client.updateSettings({ lobby: policy });
}
