// moderation.js: the SDK's part of moderation (docs/protocol.md section 24). Keeps
// client.session.moderation up to date from the moderation events, makes removed participants
// (and everyone, when the session ends) leave the replica, and obeys mute requests: when the
// local participant is asked to mute a kind, its local tracks of that kind are disabled
// (track.enabled = false: peers receive silence or black frames) and stay off while the request
// holds; when it is lifted, the tracks this module turned off are turned on again.
//
// Emits on the client:
//   "moderation" {kind, moderation}: the moderation state changed (kind: the event kind)
//   "muted"      {audio, video, by}: what the local participant is asked to mute changed
//
// Commands (each resolves with the ack or rejects with a ClassbridgeError): moderationCommands().

import { dropHand } from "./classroom.js";

const KINDS = new Set([
  "moderation.muted", "participant.removed", "session.locked", "session.ended",
  "class.permissions_changed", "moderation.scope_changed",
]);
const MEDIA_KINDS = ["audio", "video"];
const TEACHER_ROLES = new Set(["teacher", "host"]);

function emptyModeration() {
  return {
    muted: {}, class_muted: {}, locked: false, ended_by: null, ended_at: 0,
    chat_disabled: [], drawing_disabled: [], teachers_own_class: false,
  };
}

function moderationOf(client) {
  if (!client.session.moderation) client.session.moderation = emptyModeration();
  return client.session.moderation;
}

// What `participantId` is asked to mute: their own requests and, for students and stations,
// their class's. Returns a Set of "audio" / "video".
export function mutedKinds(client, participantId) {
  const moderation = client.session?.moderation;
  const participant = client.participants.get(participantId);
  const kinds = new Set(moderation?.muted?.[participantId] || []);
  if (participant && !TEACHER_ROLES.has(participant.role)) {
    for (const kind of moderation?.class_muted?.[participant.class_id] || []) kinds.add(kind);
  }
  return kinds;
}

function updateKinds(list, data) {
  const kinds = new Set(list || []);
  for (const kind of MEDIA_KINDS) {
    if (data[kind] === true) kinds.add(kind);
    else if (data[kind] === false) kinds.delete(kind);
  }
  return [...kinds].sort();
}

function applyMuted(client, moderation, data) {
  if (data.participant !== undefined) {
    moderation.muted = { ...moderation.muted, [data.participant]: updateKinds(moderation.muted[data.participant], data) };
    return;
  }
  moderation.class_muted = { ...moderation.class_muted, [data.class]: updateKinds(moderation.class_muted[data.class], data) };
  const lifted = MEDIA_KINDS.filter((kind) => data[kind] === false);
  for (const participant of client.participants.values()) {
    const own = moderation.muted[participant.id];
    if (participant.class_id === data.class && own) {
      moderation.muted = { ...moderation.muted, [participant.id]: own.filter((k) => !lifted.includes(k)) };
    }
  }
}

function leave(client, participant) {
  if (!participant) return;
  if (client.session) dropHand(client, participant.id); // leaving lowers the hand, as on the server
  if (!participant.present) return;
  participant.present = false;
  client.cursors.delete(participant.id);
  client._emit("presence", { type: "left", participant });
}

function applyPermissions(moderation, data) {
  for (const [name, field] of [["chat", "chat_disabled"], ["drawing", "drawing_disabled"]]) {
    const disabled = new Set(moderation[field]);
    if (data[name] === true) disabled.delete(data.class);
    else if (data[name] === false) disabled.add(data.class);
    moderation[field] = [...disabled].sort();
  }
}

// The FEATURE_APPLIERS entry (classbridge.js): true when the event was moderation's.
export function applyModerationEvent(client, seq, kind, data, ts) {
  if (!KINDS.has(kind)) return false;
  const moderation = moderationOf(client);
  if (kind === "moderation.muted") applyMuted(client, moderation, data);
  else if (kind === "participant.removed") leave(client, client.participants.get(data.participant_id));
  else if (kind === "session.locked") moderation.locked = Boolean(data.locked);
  else if (kind === "class.permissions_changed") applyPermissions(moderation, data);
  else if (kind === "moderation.scope_changed") moderation.teachers_own_class = Boolean(data.teachers_own_class);
  else if (kind === "session.ended" && moderation.ended_by === null) {
    Object.assign(moderation, { ended_by: data.by, ended_at: ts });
    for (const participant of client.participants.values()) leave(client, participant);
  }
  client._emit("moderation", { kind, moderation });
  obeyMuteRequests(client, data.by ?? null);
  return true;
}

// --- obeying mute requests --------------------------------------------------------------------

// Per client: the kinds the local participant is asked to mute, and those this module turned off.
const obeyed = new WeakMap();

function obeyMuteRequests(client, by = null) {
  if (!client.me || !client.session) return;
  const record = obeyed.get(client) || { asked: new Set(), turnedOff: new Set() };
  obeyed.set(client, record);
  const asked = mutedKinds(client, client.me.id);
  const local = client.media.local;
  for (const kind of MEDIA_KINDS) {
    const tracks = local ? local.getTracks().filter((t) => t.kind === kind) : [];
    if (asked.has(kind)) {
      for (const track of tracks) {
        if (track.enabled) record.turnedOff.add(kind);
        track.enabled = false;
      }
    } else if (record.turnedOff.has(kind)) {
      record.turnedOff.delete(kind);
      for (const track of tracks) track.enabled = true;
    }
  }
  const changed = MEDIA_KINDS.some((kind) => asked.has(kind) !== record.asked.has(kind));
  record.asked = asked;
  if (changed) client._emit("muted", { audio: asked.has("audio"), video: asked.has("video"), by });
}

// Called once by the Classbridge constructor: mute requests also hold for tracks started later
// (media.start) and after a snapshot, and media.setEnabled(kind, true) cannot turn on a kind
// the local participant is asked to mute.
export function watchMuteRequests(client) {
  client.on("welcome", () => obeyMuteRequests(client));
  client.on("media", () => obeyMuteRequests(client));
  const media = client.media;
  const setEnabled = media.setEnabled.bind(media);
  media.setEnabled = (kind, enabled) => {
    const asked = client.me ? mutedKinds(client, client.me.id).has(kind) : false;
    setEnabled(kind, enabled && !asked);
    obeyMuteRequests(client);
  };
}

// The moderation commands of section 24.
export function moderationCommands(client) {
  return {
    muteParticipant: (participant, kinds) => client.request({ type: "moderation.mute", participant, ...kinds }),
    muteClass: (classId, kinds) => client.request({ type: "moderation.mute", class: classId, ...kinds }),
    remove: (participant, bar = false) => client.request({ type: "moderation.remove", participant, bar }),
    lock: (locked) => client.request({ type: "moderation.lock", locked }),
    classPermissions: (classId, permissions) => client.request({ type: "moderation.class", class: classId, ...permissions }),
    scope: (teachersOwnClass) => client.request({ type: "moderation.scope", teachers_own_class: teachersOwnClass }),
    endSession: () => client.request({ type: "session.end" }),
  };
}
