// panel_hands.js: raised hands and reactions (docs/protocol.md section 25). Students and class
// stations raise and lower their hand and see their place in line; teachers and hosts see the
// queue in order, lower a hand or all of them. Everyone but observers reacts; reactions from
// the others show for a few seconds. Names come from people: textContent only.

import { REACTIONS, clearHands, handsOf, lowerHand, myHandIsUp, raiseHand, react } from "./classroom.js";

const $ = (id) => document.getElementById(id);
const REACTION_SHOWN_MS = 4000;
const REACTION_NAMES = {
  "👍": "thumbs up",
  "👏": "applause",
  "❤️": "heart",
  "😂": "laughing",
  "😮": "surprised",
  "❓": "question",
  "🎉": "celebration",
};

export function mount(client, { describe }) {
  const showError = (error) => { $("hands-error").textContent = error ? describe(error) : ""; };
  const render = () => renderHands(client, showError);
  client.on("welcome", render);
  client.on("hands", render);
  client.on("presence", render); // names in the queue
  client.on("reaction", (reaction) => showReaction(client, reaction));
  $("hand-toggle").addEventListener("click", () => {
    showError(null);
    (myHandIsUp(client) ? lowerHand(client) : raiseHand(client)).catch(showError);
  });
  $("hands-clear").addEventListener("click", () => {
    showError(null);
    clearHands(client).catch(showError);
  });
  mountReactionButtons(client, showError);
}

const nameOf = (client, id) => {
  if (id === client.me?.id) return "You";
  return client.participants.get(id)?.name ?? "someone";
};

const timeOf = (ts) => new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function renderHands(client, showError) {
  const hands = handsOf(client);
  const up = myHandIsUp(client);
  $("hand-toggle").textContent = up ? "Lower my hand" : "Raise my hand";
  $("hand-toggle").setAttribute("aria-pressed", String(up));
  const place = hands.findIndex((hand) => hand.participant === client.me?.id);
  $("hand-status").textContent = place < 0 ? "" : `Your hand is up: number ${place + 1} in line.`;
  const focused = [...$("hand-queue").querySelectorAll("button")].indexOf(document.activeElement);
  const items = hands.map((hand, index) => queueItem(client, hand, index, showError));
  $("hand-queue").replaceChildren(...items);
  $("hand-queue-empty").hidden = hands.length > 0;
  $("hands-clear").disabled = hands.length === 0;
  // Keyboard users keep their place: after a "Lower", focus moves to the next one in line.
  if (focused >= 0) {
    const buttons = $("hand-queue").querySelectorAll("button");
    (buttons[Math.min(focused, buttons.length - 1)] || $("hand-queue-heading")).focus();
  }
}

function queueItem(client, hand, index, showError) {
  const item = document.createElement("li");
  item.dataset.participant = hand.participant;
  const time = document.createElement("time");
  time.dateTime = new Date(hand.raised_at).toISOString();
  time.textContent = timeOf(hand.raised_at);
  const name = nameOf(client, hand.participant);
  item.append(`${index + 1}. ${name} · `, time, " ");
  const lower = document.createElement("button");
  lower.type = "button";
  lower.textContent = "Lower";
  lower.setAttribute("aria-label", `Lower the hand of ${name}`);
  lower.addEventListener("click", () => lowerHand(client, hand.participant).catch(showError));
  item.append(lower);
  return item;
}

function mountReactionButtons(client, showError) {
  const buttons = REACTIONS.map((emoji) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "reaction";
    button.textContent = emoji;
    button.setAttribute("aria-label", `React: ${REACTION_NAMES[emoji]}`);
    button.addEventListener("click", () => {
      showError(null);
      react(client, emoji).catch((error) => {
        showError(error);
        if (error.code === "rate_limited") pause(buttons, error.retryAfterMs);
      });
    });
    return button;
  });
  $("reaction-buttons").replaceChildren(...buttons);
}

// Over the reaction budget: the buttons rest until the server takes reactions again.
function pause(buttons, retryAfterMs) {
  for (const button of buttons) button.disabled = true;
  setTimeout(() => {
    for (const button of buttons) button.disabled = false;
  }, Math.max(500, retryAfterMs || 1000));
}

function showReaction(client, { from, emoji }) {
  if (!REACTIONS.includes(emoji)) return;
  const item = document.createElement("li");
  item.textContent = `${emoji} ${nameOf(client, from)}`;
  item.setAttribute("aria-label", `${nameOf(client, from)}: ${REACTION_NAMES[emoji]}`);
  $("reactions-shown").append(item);
  setTimeout(() => item.remove(), REACTION_SHOWN_MS);
}
