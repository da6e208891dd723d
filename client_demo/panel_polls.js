// panel_polls.js: polls and quick checks (docs/protocol.md section 25). Teachers and hosts ask
// a question with 2 to 10 options, follow the live counts (and, unless anonymous, who chose
// what), and close it; students answer, change their answer until the close, then see the
// results; stations see the questions and the results. Text from people: textContent only.

import { answerPoll, closePoll, createPoll, isTeacher, pollsOf } from "./classroom.js";

const $ = (id) => document.getElementById(id);

export function mount(client, { describe }) {
  const showError = (error) => { $("poll-error").textContent = error ? describe(error) : ""; };
  const context = { client, showError };
  client.on("welcome", () => renderAll(context));
  client.on("polls", ({ poll }) => renderPoll(context, poll));
  client.on("presence", () => { if (isTeacher(client)) renderAll(context); }); // names
  $("poll-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submitPoll(context);
  });
}

function submitPoll({ client, showError }) {
  const options = $("poll-options").value.split("\n").map((line) => line.trim()).filter(Boolean);
  showError(null);
  createPoll(client, $("poll-question").value, options, {
    multiple: $("poll-multiple").checked,
    anonymous: $("poll-anonymous").checked,
  }).then(
    () => {
      $("poll-question").value = "";
      $("poll-options").value = "";
    },
    showError,
  );
}

function renderAll(context) {
  const polls = pollsOf(context.client);
  $("poll-list").replaceChildren(...polls.map((poll) => pollArticle(context, poll)).reverse());
  $("poll-none").hidden = polls.length > 0;
}

// One poll changed: replace its article only, and keep the keyboard focus where it was.
function renderPoll(context, poll) {
  const old = $("poll-list").querySelector(`article[data-poll="${Number(poll.id)}"]`);
  const focusedId = old?.contains(document.activeElement) ? document.activeElement.id : null;
  const article = pollArticle(context, poll);
  if (old) old.replaceWith(article);
  else $("poll-list").prepend(article);
  $("poll-none").hidden = true;
  if (focusedId && document.getElementById(focusedId)) document.getElementById(focusedId).focus();
}

function pollArticle(context, poll) {
  const article = document.createElement("article");
  article.className = "poll";
  article.dataset.poll = String(poll.id);
  article.dataset.state = poll.closed ? "closed" : "open";
  const heading = document.createElement("h4");
  heading.id = `poll-${poll.id}-question`;
  heading.textContent = poll.question;
  article.setAttribute("aria-labelledby", heading.id);
  const about = document.createElement("p");
  about.className = "poll-about";
  const kind = [poll.multiple ? "several answers" : "one answer", poll.anonymous ? "anonymous" : null];
  about.textContent = `${poll.closed ? "Closed" : "Open"} · ${kind.filter(Boolean).join(" · ")}`;
  article.append(heading, about);
  if (isTeacher(context.client)) article.append(...teacherPart(context, poll));
  else if (poll.closed) article.append(results(poll));
  else if (context.client.me?.role === "student") article.append(answerForm(context, poll));
  else article.append(note("Results are shown when a teacher closes the poll."));
  return article;
}

function note(text) {
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  return paragraph;
}

// --- students ----------------------------------------------------------------------------------

function answerForm({ client, showError }, poll) {
  const form = document.createElement("form");
  form.className = "poll-answer";
  const fieldset = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.textContent = poll.multiple ? "Choose one or more" : "Choose one";
  fieldset.append(legend);
  poll.options.forEach((option, index) => {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = poll.multiple ? "checkbox" : "radio";
    input.name = `poll-${poll.id}`;
    input.id = `poll-${poll.id}-option-${index}`;
    input.value = String(index);
    input.checked = Boolean(poll.mine?.includes(index));
    label.append(input, ` ${option}`);
    fieldset.append(label);
  });
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.id = `poll-${poll.id}-submit`;
  submit.textContent = poll.mine ? "Change my answer" : "Send my answer";
  const status = document.createElement("p");
  status.className = "poll-status";
  status.setAttribute("role", "status");
  status.textContent = poll.mine
    ? `Your answer: ${poll.mine.map((i) => poll.options[i]).join(", ")}. You can change it until the poll closes.`
    : "Only teachers see your answer.";
  form.append(fieldset, submit, status);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const choices = [...form.querySelectorAll("input:checked")].map((input) => Number(input.value));
    showError(null);
    if (choices.length === 0) {
      $("poll-error").textContent = "Choose an answer first.";
      return;
    }
    answerPoll(client, poll.id, choices).catch(showError);
  });
  return form;
}

// --- results: teachers live, everyone at the close ----------------------------------------------

function results(poll) {
  const list = document.createElement("ul");
  list.className = "poll-results";
  list.setAttribute("aria-label", `Results (${poll.answers ?? 0} answered)`);
  const total = Math.max(1, poll.answers || 0);
  poll.options.forEach((option, index) => {
    const count = poll.counts?.[index] ?? 0;
    const item = document.createElement("li");
    item.dataset.option = String(index);
    const meter = document.createElement("meter");
    meter.min = 0;
    meter.max = total;
    meter.value = count;
    meter.setAttribute("aria-hidden", "true");
    const mine = poll.mine?.includes(index) ? " (your answer)" : "";
    const text = document.createElement("span");
    text.className = "poll-count";
    text.textContent = `${option}: ${count}${mine}`;
    item.append(meter, " ", text);
    list.append(item);
  });
  const summary = note(`${poll.answers ?? 0} answered.`);
  summary.className = "poll-total";
  const wrapper = document.createElement("div");
  wrapper.append(list, summary);
  return wrapper;
}

function teacherPart({ client, showError }, poll) {
  const parts = [results(poll)];
  if (poll.responses && Object.keys(poll.responses).length > 0) {
    const who = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Who answered what";
    const list = document.createElement("ul");
    for (const [participant, choices] of Object.entries(poll.responses)) {
      const item = document.createElement("li");
      const name = client.participants.get(participant)?.name ?? "someone";
      item.textContent = `${name}: ${choices.map((i) => poll.options[i]).join(", ")}`;
      list.append(item);
    }
    who.append(summary, list);
    parts.push(who);
  }
  if (!poll.closed) {
    const close = document.createElement("button");
    close.type = "button";
    close.id = `poll-${poll.id}-close`;
    close.textContent = "Close and show the results";
    close.addEventListener("click", () => closePoll(client, poll.id).catch(showError));
    parts.push(close);
  }
  return parts;
}
