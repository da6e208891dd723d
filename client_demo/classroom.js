// classroom.js: hands, reactions and polls in the SDK (docs/protocol.md section 25).
//
// The replica is client.session.hands (the queue, in order) and client.session.polls (each poll
// as this participant may see it), from the welcome's snapshot and then the hand.* and poll.*
// events, applied as the server's reducer applies them. Listeners:
//
//   client.on("hands", ({kind, hands}) => ...)      the queue changed
//   client.on("polls", ({kind, poll}) => ...)       a poll was created, answered, counted, closed
//   client.on("reaction", ({from, emoji}) => ...)   someone else reacted (volatile, not logged)
//
// Commands (each resolves with the ack, or rejects with the server's error):
//
//   raiseHand(client), lowerHand(client, participant?), clearHands(client)
//   react(client, emoji)                       one of REACTIONS
//   createPoll(client, question, options, {multiple, anonymous})   resolves with the poll's id
//   answerPoll(client, poll, choices), closePoll(client, poll)

export const REACTIONS = Object.freeze(["👍", "👏", "❤️", "😂", "😮", "❓", "🎉"]);
const HAND_KINDS = new Set(["hand.raised", "hand.lowered", "hands.cleared"]);
const POLL_KINDS = new Set(["poll.created", "poll.answered", "poll.counts", "poll.closed"]);
const TEACHER_ROLES = new Set(["teacher", "host"]);

export const isTeacher = (client) => TEACHER_ROLES.has(client.me?.role);

// --- commands --------------------------------------------------------------------------------

export const raiseHand = (client) => client.request({ type: "hand.raise" });
export const lowerHand = (client, participant) =>
  client.request(participant ? { type: "hand.lower", participant } : { type: "hand.lower" });
export const clearHands = (client) => client.request({ type: "hand.clear" });
export const react = (client, emoji) => client.request({ type: "reaction", emoji });

export async function createPoll(client, question, options, { multiple = false, anonymous = false } = {}) {
  const ack = await client.request({ type: "poll.create", question, options, multiple, anonymous });
  return ack.seq; // a poll's id is the seq of its poll.created
}
export const answerPoll = (client, poll, choices) => client.request({ type: "poll.answer", poll, choices });
export const closePoll = (client, poll) => client.request({ type: "poll.close", poll });

// --- the replica -----------------------------------------------------------------------------

export const handsOf = (client) => client.session?.hands || [];
export const pollsOf = (client) => client.session?.polls || [];
export const findPoll = (client, id) => pollsOf(client).find((poll) => poll.id === id);
export const myHandIsUp = (client) => handsOf(client).some((hand) => hand.participant === client.me?.id);

// The FEATURE_APPLIERS entry (classbridge.js): true when the event was a hand's or a poll's.
export function applyClassroomEvent(client, seq, kind, data, ts) {
  if (HAND_KINDS.has(kind)) {
    applyHand(client, kind, data, ts);
    client._emit("hands", { kind, hands: handsOf(client) });
    return true;
  }
  if (!POLL_KINDS.has(kind)) return false;
  const poll = applyPoll(client, seq, kind, data, ts);
  if (poll) client._emit("polls", { kind, poll });
  return true;
}

// Called by classbridge.js on participant.left: leaving lowers the hand (no event of its own).
export function dropHand(client, participantId) {
  const hands = handsOf(client);
  if (!hands.some((hand) => hand.participant === participantId)) return;
  client.session.hands = hands.filter((hand) => hand.participant !== participantId);
  client._emit("hands", { kind: "participant.left", hands: client.session.hands });
}

function applyHand(client, kind, data, ts) {
  const hands = handsOf(client);
  if (kind === "hand.raised") {
    const present = client.participants.get(data.participant)?.present;
    const raised = hands.some((hand) => hand.participant === data.participant);
    // The first raise keeps its place; one logged after its sender left is ignored.
    if (present && !raised) client.session.hands = [...hands, { participant: data.participant, raised_at: ts }];
  } else if (kind === "hand.lowered") {
    client.session.hands = hands.filter((hand) => hand.participant !== data.participant);
  } else {
    client.session.hands = [];
  }
}

function applyPoll(client, seq, kind, data, ts) {
  if (!client.session.polls) client.session.polls = [];
  if (kind === "poll.created") return addPoll(client, seq, data, ts);
  const poll = findPoll(client, data.poll);
  if (!poll) return null;
  if (kind === "poll.answered") {
    if (poll.closed) return null; // logged after the close: not counted anywhere
    if (data.by === client.me?.id) poll.mine = [...data.choices];
    if (poll.responses) poll.responses = { ...poll.responses, [data.by]: [...data.choices] };
  } else {
    takeTotals(poll, data);
    if (kind === "poll.closed" && !poll.closed) {
      Object.assign(poll, { closed: true, closed_by: data.by, closed_at: ts });
    }
  }
  return poll;
}

function addPoll(client, seq, data, ts) {
  const teacher = isTeacher(client);
  const poll = {
    id: seq,
    question: data.question,
    options: [...data.options],
    multiple: Boolean(data.multiple),
    anonymous: Boolean(data.anonymous),
    by: data.by,
    created_at: ts,
    closed: false,
    closed_by: null,
    closed_at: 0,
    mine: null,
    counts: teacher ? data.options.map(() => 0) : null,
    answers: teacher ? 0 : null,
    as_of: seq,
    responses: teacher && !data.anonymous ? {} : null,
  };
  client.session.polls = [...client.session.polls, poll];
  return poll;
}

// Totals may arrive out of order (two servers counted them): the newest count wins.
function takeTotals(poll, data) {
  if (!Array.isArray(data.counts)) return;
  if (poll.counts && data.as_of < (poll.as_of || 0)) return;
  Object.assign(poll, { counts: [...data.counts], answers: data.answers, as_of: data.as_of });
}
