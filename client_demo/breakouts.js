// breakouts.js: breakout groups mixed across classes in the SDK (docs/protocol.md section 27).
//
// The replica is client.session.breakouts, from the welcome's snapshot and then the breakout.*
// events, applied as the server's reducer applies them (server/rooms/breakouts/reducer.py): a
// second `breakout.opened` while a round is open is ignored, and every other event counts only
// for the round it names. The groups' boards follow the groups here too, with board.js's own
// rules: a round creates (or empties) `group-<n>` and lets its members draw; a close leaves the
// drawings to the teachers. Listeners get client.on("breakouts", ({kind, breakouts}) => ...).
//
//   myGroup(client)                  the group this participant is in, or null
//   groupRemainingMs(client)         ms left on the shared countdown (0: none, or time is up)
//   openBreakouts(client, {size, minutes?, seed?, names?}), moveToGroup(client, id, group|null),
//   broadcastToGroups(client, text), closeBreakouts(client), callTeacher(client),
//   answerCall(client, group), visitGroup(client, group|null), sendGroupChat(client, group, text)

import { applyBoardEvent } from "./board.js";
import { serverNow } from "./agenda.js";

const TEACHER_ROLES = new Set(["teacher", "host"]);
const BROADCASTS_KEPT = 20; // server/rooms/breakouts/model.py

export const isTeacherRole = (role) => TEACHER_ROLES.has(role);

export function myGroup(client) {
  const me = client.me?.id;
  return client.session?.breakouts?.groups.find((g) => g.members.includes(me)) ?? null;
}

export function groupRemainingMs(client) {
  const breakouts = client.session?.breakouts;
  if (!breakouts?.open || !breakouts.ends_at) return 0;
  return Math.max(0, breakouts.ends_at - serverNow(client));
}

// --- commands ---------------------------------------------------------------------------------

export function openBreakouts(client, { size, minutes, seed, names } = {}) {
  const command = { type: "breakout.open", size };
  if (minutes) command.minutes = minutes;
  if (seed !== undefined) command.seed = seed;
  if (names?.length) command.names = names;
  return client.request(command);
}
export const moveToGroup = (client, participant, group) =>
  client.request({ type: "breakout.move", participant, group: group ?? null });
export const broadcastToGroups = (client, text) => client.request({ type: "breakout.broadcast", text });
export const closeBreakouts = (client) => client.request({ type: "breakout.close" });
export const callTeacher = (client) => client.request({ type: "breakout.call_teacher" });
export const answerCall = (client, group) => client.request({ type: "breakout.answer", group });
export const visitGroup = (client, group) => client.request({ type: "breakout.visit", group: group ?? null });
export const sendGroupChat = (client, group, text) => client.request({ type: "chat.send", text, group });

// --- the replica ------------------------------------------------------------------------------

const HANDLERS = new Map([
  ["breakout.opened", opened],
  ["breakout.moved", moved],
  ["breakout.broadcast_sent", broadcastSent],
  ["breakout.closed", closed],
  ["breakout.called", (client, b, seq, data, ts) => onGroup(b, data, (g) => { if (!g.call) g.call = { by: data.by, ts }; })],
  ["breakout.call_answered", (client, b, seq, data) => onGroup(b, data, (g) => { g.call = null; })],
  ["breakout.visited", visited],
]);

// The FEATURE_APPLIERS entry (classbridge.js): true when the event was a breakout's.
export function applyBreakoutEvent(client, seq, kind, data, ts) {
  const handler = HANDLERS.get(kind);
  if (handler === undefined) return false;
  const breakouts = client.session.breakouts;
  if (!breakouts) return true; // a snapshot from a server without breakouts
  const current = kind === "breakout.opened" || (breakouts.open && data.round === breakouts.round);
  if (current) handler(client, breakouts, seq, data, ts);
  client._emit("breakouts", { kind, breakouts });
  return true;
}

function opened(client, breakouts, seq, data, ts) {
  if (breakouts.open) return; // two teachers at once: the first in the log stands
  Object.assign(breakouts, {
    round: data.round, open: true, opened_by: data.by, opened_at: ts, ends_at: data.ends_at, broadcasts: [],
  });
  breakouts.groups = data.groups.map((g) => ({ ...g, members: [...g.members], call: null, visitors: [] }));
  for (const group of breakouts.groups) {
    const board = { board: group.board, title: group.name, by: data.by };
    boardEvent(client, seq, "board.created", board);
    boardEvent(client, seq, "board.cleared", board); // a new round starts empty
    shareBoard(client, seq, group);
  }
}

function moved(client, breakouts, seq, data) {
  for (const group of breakouts.groups) {
    const index = group.members.indexOf(data.participant);
    if (index >= 0 && group.id !== data.group) {
      group.members.splice(index, 1);
      shareBoard(client, seq, group);
    } else if (group.id === data.group && index < 0) {
      group.members.push(data.participant);
      shareBoard(client, seq, group);
    }
  }
  forgetHiddenGroupChat(client);
}

function broadcastSent(client, breakouts, seq, data, ts) {
  breakouts.broadcasts.push({ id: seq, text: data.text, by: data.by, ts });
  if (breakouts.broadcasts.length > BROADCASTS_KEPT) breakouts.broadcasts.shift();
}

function closed(client, breakouts, seq) {
  for (const group of breakouts.groups) {
    const access = { mode: "teachers", classes: [], participants: [] };
    boardEvent(client, seq, "board.access_changed", { board: group.board, access });
  }
  Object.assign(breakouts, { open: false, ends_at: null, groups: [], broadcasts: [] });
  forgetHiddenGroupChat(client);
}

function visited(client, breakouts, seq, data) {
  for (const group of breakouts.groups) {
    group.visitors = group.visitors.filter((id) => id !== data.by);
    if (group.id === data.group) group.visitors.push(data.by);
  }
}

function onGroup(breakouts, data, change) {
  const group = breakouts.groups.find((g) => g.id === data.group);
  if (group) change(group);
}

function shareBoard(client, seq, group) {
  const access = { mode: "selected", classes: [], participants: [...group.members].sort() };
  boardEvent(client, seq, "board.access_changed", { board: group.board, access });
}

function boardEvent(client, seq, kind, data) {
  if (applyBoardEvent(client.boards, seq, kind, data)) client._emit("board", { board: data.board, kind });
}

// A student's snapshot holds only the posts of the group they are in now (visibility.py): the
// live replica drops the others too when a move or a close takes the student out of a group.
function forgetHiddenGroupChat(client) {
  if (isTeacherRole(client.me?.role)) return;
  const mine = myGroup(client)?.id;
  let dropped = false;
  for (const [id, post] of client.chat) {
    if (post.group && post.group !== mine) dropped = client.chat.delete(id) || dropped;
  }
  if (dropped) client._emit("chat", { type: "reset" });
}
