// panel_agenda.js: the agenda for everyone in class (docs/protocol.md section 26): the phases,
// the running one and one countdown, counted on the server's clock (agenda.js). Teachers and
// hosts start and move the agenda, edit it and read the reflections; students (and a class
// station) answer the reflection prompt. Text from people: textContent only.

import { NOT_STARTED, agendaCommands, formatRemaining, openPrompt, remainingMs } from "./agenda.js";

const $ = (id) => document.getElementById(id);
const TEACHER_ROLES = new Set(["teacher", "host"]);
const REFLECTING_ROLES = new Set(["student", "station"]);

export function mount(client, { describe }) {
  const commands = agendaCommands(client);
  const render = () => renderAgenda(client);
  client.on("welcome", render);
  client.on("agenda", (change) => {
    render();
    if (change.kind === "agenda.changed" && !$("agenda-editor").open) fillEditor(client);
  });
  client.on("presence", () => renderAnswers(client)); // names in the answers
  setInterval(() => renderCountdown(client), 1000);
  wireControls(client, commands, describe);
  wireEditor(client, commands, describe);
  wireReflection(client, commands, describe);
}

function showError(error, describe) {
  $("agenda-error").textContent = error ? describe(error) : "";
}

// --- what everyone sees ------------------------------------------------------------------------

function renderAgenda(client) {
  const agenda = client.session?.agenda;
  if (!agenda) return;
  const items = agenda.phases.map((phase, index) => {
    const item = document.createElement("li");
    item.textContent = `${phase.name} (${phase.minutes} min)`;
    if (index === agenda.current && !agenda.finished) item.setAttribute("aria-current", "step");
    if (index < agenda.current || agenda.finished) item.dataset.done = "true";
    return item;
  });
  $("agenda-phases").replaceChildren(...items);
  $("agenda-now").textContent = nowText(agenda);
  renderCountdown(client);
  renderControls(client, agenda);
  renderReflection(client, agenda);
  renderAnswers(client);
}

function nowText(agenda) {
  if (agenda.finished) return "The agenda is finished.";
  if (agenda.current === NOT_STARTED) return "The agenda has not started yet.";
  const phase = agenda.phases[agenda.current];
  return `Now: ${phase.name} (phase ${agenda.current + 1} of ${agenda.phases.length})`;
}

function renderCountdown(client) {
  const agenda = client.session?.agenda;
  if (!agenda) return;
  const running = agenda.current !== NOT_STARTED && !agenda.finished;
  const left = remainingMs(client);
  const countdown = $("agenda-countdown");
  countdown.textContent = running ? formatRemaining(left) : "--:--";
  countdown.dataset.over = String(running && left === 0);
}

// --- teachers: run and edit ----------------------------------------------------------------------

function renderControls(client, agenda) {
  if (!TEACHER_ROLES.has(client.me?.role)) return;
  const running = agenda.current !== NOT_STARTED && !agenda.finished;
  const last = agenda.current === agenda.phases.length - 1;
  const next = $("agenda-next");
  next.textContent = agenda.current === NOT_STARTED ? "Start the agenda" : last ? "End the agenda" : "Next phase";
  next.disabled = agenda.finished;
  $("agenda-back").disabled = !running || agenda.current === 0;
  $("agenda-finish").disabled = !running;
}

function wireControls(client, commands, describe) {
  const run = (button, command) => button.addEventListener("click", () => {
    showError(null, describe);
    button.disabled = true;
    // The event re-renders the buttons; a refusal (another teacher moved first) says so.
    command().catch((error) => showError(error, describe)).finally(() => renderAgenda(client));
  });
  // Ending cannot be undone: ask first (the last phase's "next" ends the agenda too).
  const ending = () => window.confirm("End the agenda now? It cannot be started again.");
  const isLast = () => client.session.agenda.current === client.session.agenda.phases.length - 1;
  run($("agenda-next"), () => (isLast() && !ending() ? Promise.resolve() : commands.next()));
  run($("agenda-back"), commands.back);
  run($("agenda-finish"), () => (ending() ? commands.finish() : Promise.resolve()));
}

function editorRow(phase, index) {
  const row = document.createElement("li");
  const field = (label, input) => {
    const wrap = document.createElement("label");
    wrap.append(label, " ", input);
    return wrap;
  };
  const name = Object.assign(document.createElement("input"), { value: phase.name, required: true, maxLength: 60 });
  name.dataset.field = "name";
  const minutes = Object.assign(document.createElement("input"), { type: "number", min: 1, max: 240, value: phase.minutes, required: true });
  minutes.dataset.field = "minutes";
  const prompt = Object.assign(document.createElement("input"), { value: phase.prompt || "", maxLength: 500 });
  prompt.dataset.field = "prompt";
  const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "Remove" });
  remove.setAttribute("aria-label", `Remove phase ${index + 1}`);
  remove.addEventListener("click", () => row.remove());
  row.append(field("Name", name), " ", field("Minutes", minutes), " ", field("Reflection prompt (optional)", prompt), " ", remove);
  return row;
}

function fillEditor(client) {
  const phases = client.session?.agenda?.phases || [];
  $("agenda-edit-rows").replaceChildren(...phases.map(editorRow));
}

function wireEditor(client, commands, describe) {
  $("agenda-editor").addEventListener("toggle", () => { if ($("agenda-editor").open) fillEditor(client); });
  $("agenda-add").addEventListener("click", () => {
    const rows = $("agenda-edit-rows");
    rows.append(editorRow({ name: "", minutes: 10, prompt: "" }, rows.children.length));
    rows.lastElementChild.querySelector("input").focus();
  });
  $("agenda-form").addEventListener("submit", (e) => {
    e.preventDefault();
    showError(null, describe);
    const phases = [...$("agenda-edit-rows").children].map((row) => {
      const value = (name) => row.querySelector(`[data-field="${name}"]`).value;
      const prompt = value("prompt").trim();
      return { name: value("name").trim(), minutes: Number(value("minutes")), ...(prompt ? { prompt } : {}) };
    });
    commands.set(phases).then(() => { $("agenda-editor").open = false; }, (error) => showError(error, describe));
  });
}

function renderAnswers(client) {
  const agenda = client.session?.agenda;
  if (!agenda || !TEACHER_ROLES.has(client.me?.role)) return;
  const items = (agenda.reflections || []).map((answer) => {
    const item = document.createElement("li");
    const who = client.participants.get(answer.participant);
    const cls = client.session.classes.find((c) => c.id === answer.class_id);
    const phase = agenda.phases[answer.phase];
    const head = document.createElement("strong");
    head.textContent = `${who ? who.name : "Someone"}${cls ? ` · ${cls.name}` : ""}`;
    const asked = document.createElement("span");
    asked.className = "prompt";
    asked.textContent = ` (${phase ? phase.name : `phase ${answer.phase + 1}`}: ${answer.prompt}) `;
    const text = document.createElement("q");
    text.textContent = answer.text;
    item.append(head, asked, text);
    return item;
  });
  if (items.length === 0) {
    const none = document.createElement("li");
    none.textContent = "No reflections yet.";
    items.push(none);
  }
  $("agenda-answers").replaceChildren(...items);
}

// --- students: reflect ---------------------------------------------------------------------------

function renderReflection(client, agenda) {
  if (!REFLECTING_ROLES.has(client.me?.role)) return;
  const form = $("reflection-form");
  const phase = openPrompt(agenda);
  form.hidden = phase < 0;
  if (phase < 0) return;
  const changed = form.dataset.phase !== String(phase);
  form.dataset.phase = String(phase);
  const { name, prompt } = agenda.phases[phase];
  const running = phase === agenda.current && !agenda.finished;
  $("reflection-prompt").textContent = running ? `Reflection: ${prompt}` : `Reflection on ${name}: ${prompt}`;
  const mine = (agenda.reflections || []).find((r) => r.phase === phase && r.participant === client.me.id);
  const box = $("reflection-text");
  if (changed || (document.activeElement !== box && mine && !box.dataset.dirty)) box.value = mine ? mine.text : "";
  if (changed) delete box.dataset.dirty;
}

function wireReflection(client, commands, describe) {
  const box = $("reflection-text");
  box.addEventListener("input", () => { box.dataset.dirty = "true"; $("reflection-status").textContent = ""; });
  $("reflection-form").addEventListener("submit", (e) => {
    e.preventDefault();
    showError(null, describe);
    const phase = Number($("reflection-form").dataset.phase);
    commands.answer(phase, box.value).then(
      () => { delete box.dataset.dirty; $("reflection-status").textContent = "Saved. You can change it until the end."; },
      (error) => showError(error, describe),
    );
  });
}
