// The browser's replica of the session's whiteboards.
//
// The server keeps every board with a pure reducer over the session's log
// (server/rooms/board/reducer.py). A client builds the same boards from what it receives:
// the welcome's board summaries, the `board.records` chunks that follow it, then every
// `board.*` event in seq order. Two workers may decide at the same moment (a teacher deletes a
// stroke its author is still drawing), so the log holds events that no longer apply; each
// replica ignores them by the same rules, and so must this one, or the picture drifts from
// the server's for good. Each handler below mirrors its Python twin line for line; the parity
// tests (tests/rooms/board/test_js_parity.py) run both on shared fixtures and random logs.
//
// Not modelled: the undo/redo history. It is the server's business (any worker may be asked
// to undo); `board.restored` events carry everything a client needs (`expect`, `records`,
// `deleted`) and `board.step_dropped` changes only that history.
//
// No dependencies, no build step: an ES module for browsers and node alike.

// The server's fixed limits: server/rooms/board/records.py `BoardLimits` (the reducer uses
// the defaults, never configured, so that every replica ignores the same events). Keep equal.
export const LIMITS = Object.freeze({
  recordsPerBoard: 5000,
  pointsPerStroke: 5000, // x,y pairs
  boardsPerSession: 20,
  tombstones: 1000, // deleted ids remembered per board, so they are not reused
});

// --- the model --------------------------------------------------------------------------------

// Boards by id, in the order the server has them (a Map keeps insertion order, like a dict).
export function createBoards() {
  return new Map();
}

function newAccess(access = {}) {
  // Fields left out take the defaults of BoardAccess (model.py), as `BoardAccess(**access)`.
  return {
    mode: has(access, "mode") ? access.mode : "everyone",
    classes: has(access, "classes") ? [...access.classes] : [],
    participants: has(access, "participants") ? [...access.participants] : [],
    locked: has(access, "locked") ? access.locked : false,
  };
}

function newBoard(id, title) {
  // records: id -> {id, kind, author, class_id, z, seq, props}; topZ: the highest z ever given
  // (the next put goes above it, even when the top record has since been deleted).
  return { id, title, access: newAccess(), records: new Map(), topZ: 0, tombstones: [] };
}

function recordFromWire(wire) {
  return {
    id: wire.id,
    kind: wire.kind,
    author: wire.author,
    class_id: wire.class_id,
    z: wire.z,
    seq: wire.seq,
    props: clone(wire.props),
  };
}

// --- what the welcome brings ------------------------------------------------------------------

// A fresh snapshot replaces everything: after it come the records, then the events after its seq.
export function applySnapshot(boards, session) {
  boards.clear();
  for (const summary of session.boards || []) {
    const board = newBoard(summary.id, summary.title);
    board.access = newAccess(summary.access);
    board.tombstones = [...summary.tombstones];
    // top_z is in the summary because a client cannot compute it: records deleted or moved
    // down leave the server's top_z above every z a late joiner sees. Older servers did not
    // send it; the highest z of the records (applyRecords) is then the best guess.
    board.topZ = Number.isInteger(summary.top_z) ? summary.top_z : 0;
    boards.set(board.id, board);
  }
}

// One `board.records` chunk: records bottom to top, each as the server holds it.
export function applyRecords(boards, message) {
  const board = boards.get(message.board);
  if (board === undefined) return false;
  for (const wire of message.records) {
    const record = recordFromWire(wire);
    board.records.set(record.id, record);
    board.topZ = Math.max(board.topZ, record.z); // a no-op when the summary had top_z
  }
  return true;
}

// --- events -----------------------------------------------------------------------------------

// Applies one `board.*` event. Returns true when it was applied (what is drawn may have
// changed), false when it is ignored or changes only the server's undo history.
export function applyBoardEvent(boards, seq, kind, data) {
  const handler = HANDLERS.get(kind); // a Map: an event kind never reaches Object.prototype
  return handler === undefined ? false : handler(boards, seq, data);
}

function boardCreated(boards, seq, data) {
  if (boards.has(data.board) || boards.size >= LIMITS.boardsPerSession) return false;
  // `data.get("title", "")`: a title that is present stays as it is, even null.
  boards.set(data.board, newBoard(data.board, has(data, "title") ? data.title : ""));
  return true;
}

function accessChanged(boards, seq, data) {
  const board = boards.get(data.board);
  if (board === undefined) return false;
  board.access = newAccess(data.access);
  return true;
}

function recordPut(boards, seq, data) {
  const board = boards.get(data.board);
  const wire = data.record;
  // An id is never reused, not even after a delete: an undo may bring the old record back,
  // and a late append or patch to the old id must not land on a new record.
  if (board === undefined || board.records.has(wire.id) || board.tombstones.includes(wire.id)) {
    return false;
  }
  if (board.records.size >= LIMITS.recordsPerBoard) return false;
  board.topZ += 1; // a new record goes on top of everything ever drawn
  const record = recordFromWire({ ...wire, z: board.topZ, seq });
  board.records.set(record.id, record);
  return true;
}

function recordPatched(boards, seq, data) {
  const board = boards.get(data.board);
  const record = board === undefined ? undefined : board.records.get(data.id);
  if (record === undefined) return false;
  // `dict.update`: the given properties replace, the others stay.
  for (const [name, value] of Object.entries(has(data, "props") ? data.props : {})) {
    setOwn(record.props, name, clone(value));
  }
  if (has(data, "z")) {
    record.z = data.z;
    board.topZ = Math.max(board.topZ, record.z);
  }
  record.seq = seq;
  return true;
}

function pointsAppended(boards, seq, data) {
  const board = boards.get(data.board);
  const record = board === undefined ? undefined : board.records.get(data.id);
  if (record === undefined || !truthy(record.props.open)) return false;
  const points = record.props.points;
  // Only the author draws their stroke, and only at its end as this replica has it: an
  // append decided before another change (an undo, a racing append) no longer fits.
  // The server logs integer offsets only (server/protocol/fields.py refuses booleans).
  if (record.author !== data.by || typeof data.offset !== "number") return false;
  if (data.offset * 2 !== points.length) return false;
  if (points.length + data.points.length > 2 * LIMITS.pointsPerStroke) return false;
  points.push(...data.points);
  if (truthy(data.end)) record.props.open = false;
  record.seq = seq;
  return true;
}

function recordsDeleted(boards, seq, data) {
  const board = boards.get(data.board);
  if (board === undefined) return false;
  const ids = data.ids.filter((id) => board.records.has(id));
  if (ids.length === 0) return false;
  for (const id of ids) {
    // The server logs each id once (rules.py dedupes); Python would raise on a repeat, so a
    // repeat is skipped here rather than tombstoned twice.
    if (board.records.delete(id)) tombstone(board, id);
  }
  return true;
}

function boardCleared(boards, seq, data) {
  const board = boards.get(data.board);
  if (board === undefined) return false;
  // Tombstoned in Python's sorted() order, so the oldest dropped past the limit are the same.
  for (const id of [...board.records.keys()].sort(compareText)) tombstone(board, id);
  board.records.clear();
  return true;
}

function recordsRestored(boards, seq, data) {
  // An undo or a redo. The server decided it against its history; whether it still applies
  // rests on the event alone: every named record must have the seq it expects (0: absent).
  const board = boards.get(data.board);
  if (board === undefined || !expectationHolds(board, data.expect)) return false;
  for (const wire of data.records) restore(board, wire.id, wire, seq);
  for (const id of data.deleted) restore(board, id, null, seq);
  return true;
}

function stepDropped() {
  return false; // an undo step dropped from the server's history: nothing drawn changes
}

function expectationHolds(board, expect) {
  for (const [id, after] of expect) {
    const record = board.records.get(id);
    if ((record === undefined ? 0 : record.seq) !== after) return false;
  }
  return true;
}

function restore(board, id, before, seq) {
  if (before === null) {
    if (board.records.delete(id)) tombstone(board, id);
    return;
  }
  const record = recordFromWire(before);
  record.seq = seq;
  board.records.set(id, record);
  board.topZ = Math.max(board.topZ, record.z);
  const index = board.tombstones.indexOf(id); // the first only, like deque.remove
  if (index >= 0) board.tombstones.splice(index, 1);
}

function tombstone(board, id) {
  board.tombstones.push(id);
  while (board.tombstones.length > LIMITS.tombstones) board.tombstones.shift();
}

const HANDLERS = new Map([
  ["board.created", boardCreated],
  ["board.access_changed", accessChanged],
  ["board.put", recordPut],
  ["board.patched", recordPatched],
  ["board.appended", pointsAppended],
  ["board.deleted", recordsDeleted],
  ["board.cleared", boardCleared],
  ["board.restored", recordsRestored],
  ["board.step_dropped", stepDropped],
]);

// --- reading ----------------------------------------------------------------------------------

// Records bottom to top: by z, then id, so that equal z draws the same everywhere (model.py
// Board.ordered).
export function orderedRecords(board) {
  return [...board.records.values()].sort((a, b) => a.z - b.z || compareText(a.id, b.id));
}

// The canonical form the parity tests compare with the server's board (tests/rooms/board/
// parity.py board_to_json): everything a client holds, in a fixed order.
export function boardToJSON(board) {
  return {
    id: board.id,
    title: board.title,
    access: newAccess(board.access),
    top_z: board.topZ,
    tombstones: [...board.tombstones],
    records: orderedRecords(board).map((record) => ({ ...record, props: clone(record.props) })),
  };
}

export function boardsToJSON(boards) {
  return [...boards.values()].map(boardToJSON);
}

// --- helpers ----------------------------------------------------------------------------------

function has(object, name) {
  return object !== null && typeof object === "object" && Object.hasOwn(object, name);
}

// Own data properties only: a property named "__proto__" must stay a property, never a prototype.
function setOwn(object, name, value) {
  Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true });
}

// A deep copy of decoded JSON or msgpack data, like the reducer's copy.deepcopy: appends grow
// a stroke's points in place, and the event's own data must stay as it came.
function clone(value) {
  if (Array.isArray(value)) return value.map(clone);
  if (value === null || typeof value !== "object") return value;
  const copy = {};
  for (const [name, item] of Object.entries(value)) setOwn(copy, name, clone(item));
  return copy;
}

// Python's truth test for decoded data: empty lists, maps and strings and 0 are false.
function truthy(value) {
  if (Array.isArray(value) || typeof value === "string") return value.length > 0;
  if (value !== null && typeof value === "object") return Object.keys(value).length > 0;
  return Boolean(value);
}

// Python compares strings by code point; JavaScript's < compares UTF-16 units, which differ
// past U+FFFF. Ids are ASCII today; this keeps the order right if that ever changes.
function compareText(a, b) {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const diff = left[i].codePointAt(0) - right[i].codePointAt(0);
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}
