// video.js: the video panel of the demo page, on the SDK's media part (media.js): our own
// preview, one tile per partner stream labelled with its class, camera and microphone
// toggles, a "no camera" choice, and a line saying how video flows. Names come from people:
// textContent only.
//
// Who has the panel: stations, teachers and hosts (a teacher at home on a laptop is a normal
// case), and a student while a teacher grants them video (session.media.grants). Everyone who
// takes part in video must answer the others' offers, also without a camera: the server counts
// them as publishers, so their partners open connections to them.

import { takesPartInVideo } from "./media.js";

const $ = (id) => document.getElementById(id);
const TOPOLOGY_NAMES = {
  none: "waiting for a partner class",
  p2p: "direct connection to the partner class",
  mesh: "direct connections between the classes",
  relay: "through the server's relay",
};
const STATE_NAMES = {
  new: "connecting", connecting: "connecting", connected: "connected",
  disconnected: "interrupted", failed: "failed, retrying", closed: "closed",
};
// "off": this browser joins video without camera, in this role (a teacher's laptop may also
// open the station view for a test; the station keeps its camera).
const cameraKey = () => `classbridge.demo.camera.${client?.me?.role || "none"}`;

let client = null;
let listening = false;
let active = false; // started, or starting
let generation = 0; // bumped by every stop: a start still waiting for the camera gives up
let local = null; // our camera and microphone, or null (watching only)

// Starts or stops video as the session says this page takes part (on each welcome, and when
// a teacher grants or takes back our video).
export function followVideo(sdk) {
  client = sdk;
  listen();
  const takesPart = client.me?.role !== "observer" && takesPartInVideo(client.session, client.me);
  document.body.dataset.video = takesPart ? "on" : "off";
  if (takesPart) startVideo(client).catch((error) => console.error(error));
  else stopVideo();
}

// Starts the camera (unless this browser chose none) and the video connections.
export async function startVideo(sdk) {
  client = sdk;
  listen();
  if (active) return;
  active = true;
  const mine = generation;
  $("video-note").textContent = "";
  // A student granted video after joining had no ICE servers in its welcome.
  if (client.iceServers === null) await client.refreshIce().catch((error) => console.warn(error));
  const stream = wantsCamera() ? await openCamera() : null;
  if (mine !== generation) {
    stopTracks(stream); // stopped (the grant taken back) while the camera was opening
    return;
  }
  local = stream;
  showLocal(stream);
  await client.media.start({ stream });
  render();
}

// Closes the video connections and turns the camera off.
export function stopVideo() {
  if (!active) return;
  active = false;
  generation += 1;
  client.media.stop();
  stopTracks(local);
  local = null;
  showLocal(null);
  render();
}

function listen() {
  if (listening) return;
  listening = true;
  client.on("media", render);
  client.on("presence", render);
  client.on("event", (event) => {
    if (event.kind === "media.topology") render();
    if (event.kind === "media.granted" && event.data?.participant_id === client.me?.id) followVideo(client);
  });
  $("camera-toggle").addEventListener("click", () => flip($("camera-toggle"), "video", ["Turn camera off", "Turn camera on"]));
  $("mic-toggle").addEventListener("click", () => flip($("mic-toggle"), "audio", ["Mute microphone", "Unmute microphone"]));
  $("camera-choice").addEventListener("click", () => {
    rememberCamera(!wantsCamera());
    if (!active) return;
    // Our connections are made again, with or without our tracks.
    stopVideo();
    startVideo(client).catch((error) => console.error(error));
  });
  renderChoice();
}

function wantsCamera() {
  try { return localStorage.getItem(cameraKey()) !== "off"; } catch { return true; }
}

function rememberCamera(on) {
  try {
    if (on) localStorage.removeItem(cameraKey());
    else localStorage.setItem(cameraKey(), "off");
  } catch { /* storage off: the choice lasts until the page is reloaded */ }
  renderChoice();
}

function renderChoice() {
  $("camera-choice").textContent = wantsCamera() ? "Join without my camera" : "Use my camera";
}

async function openCamera() {
  try {
    return await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 } },
      audio: true,
    });
  } catch (error) {
    $("video-note").textContent = `No camera (${error.name}): you only watch.`;
    return null;
  }
}

function stopTracks(stream) {
  for (const track of stream?.getTracks() || []) track.stop();
}

function showLocal(stream) {
  const preview = $("preview");
  preview.srcObject = stream;
  const own = client.me?.role === "station" ? "Your class (preview)" : "You (preview)";
  $("own-tile").querySelector("figcaption").textContent = own;
  preview.setAttribute("aria-label", own);
  if (stream && client.me?.role === "student") {
    // A pupil should know when they are seen and heard.
    $("video-note").textContent = "A teacher lets you present: the other classes see and hear you.";
  }
  $("own-tile").hidden = !stream;
  if (stream) play(preview);
  else if (active) $("video-note").textContent ||= "Your camera is off: you only watch.";
  resetToggle($("camera-toggle"), "video", "Turn camera off", stream);
  resetToggle($("mic-toggle"), "audio", "Mute microphone", stream);
  renderChoice();
}

function resetToggle(button, kind, text, stream) {
  button.disabled = !stream?.getTracks().some((track) => track.kind === kind);
  button.setAttribute("aria-pressed", "false");
  button.textContent = text;
}

// Camera or microphone off and on, without renegotiating: the track sends black or silence.
function flip(button, kind, [onText, offText]) {
  if (!local) return;
  const off = button.getAttribute("aria-pressed") !== "true";
  client.media.setEnabled(kind, !off);
  button.setAttribute("aria-pressed", String(off));
  button.textContent = off ? offText : onText;
}

// Autoplay: video with sound may be refused without a click on the page. Then play it muted and
// offer a button that turns the sound on (the click is the gesture the browser asks for).
function play(video, soundButton) {
  video.play().catch((error) => {
    if (error.name !== "NotAllowedError" || video.muted) return;
    video.muted = true;
    video.play().catch(() => {});
    if (soundButton) soundButton.hidden = false;
  });
}

// "Grade 6 Kestrels (Nairobi station)": the class first, then who it is.
function labelOf(remote) {
  const participant = client.participants.get(remote);
  const cls = client.session?.classes.find((c) => c.id === participant?.class_id);
  return `${cls ? cls.name : "Partner class"}${participant ? ` (${participant.name})` : ""}`;
}

function tileFor(remote, stream) {
  const tiles = $("video-tiles");
  let tile = tiles.querySelector(`figure[data-remote="${CSS.escape(remote)}"]`);
  if (!tile) {
    tile = document.createElement("figure");
    tile.className = "tile";
    tile.dataset.remote = remote;
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.dataset.remote = remote;
    const caption = document.createElement("figcaption");
    const sound = document.createElement("button");
    sound.type = "button";
    sound.hidden = true;
    sound.textContent = "Turn on sound";
    sound.addEventListener("click", () => {
      video.muted = false;
      sound.hidden = true;
      video.play().catch(() => {});
    });
    tile.append(video, caption, sound);
    tiles.append(tile);
  }
  const video = tile.querySelector("video");
  if (video.srcObject !== stream) {
    video.srcObject = stream;
    play(video, tile.querySelector("button"));
  }
  const label = labelOf(remote);
  tile.querySelector("figcaption").textContent = label;
  video.setAttribute("aria-label", label);
}

function renderTiles(streams) {
  const shown = new Set();
  for (const [remote, { stream }] of streams) {
    if (stream.getTracks().length === 0) continue; // nothing arrived yet: see the status line
    tileFor(remote, stream);
    shown.add(remote);
  }
  for (const tile of $("video-tiles").querySelectorAll("figure[data-remote]")) {
    if (!shown.has(tile.dataset.remote)) tile.remove();
  }
}

// One part of the status line per partner: its connection's state, or that it does not answer.
function statusParts(streams) {
  const unanswered = client.media.unanswered();
  const parts = [...streams].map(([remote, { state }]) => {
    const tries = unanswered.get(remote);
    const attempt = tries ? ` (attempt ${tries.attempts + 1})` : "";
    return `${labelOf(remote)}: ${STATE_NAMES[state] || state}${attempt}`;
  });
  for (const [remote, { retryInMs }] of unanswered) {
    if (streams.has(remote)) continue;
    const next = retryInMs === null ? "waiting for it to come back" : `trying again in ${Math.ceil(retryInMs / 1000)} s`;
    parts.push(`${labelOf(remote)}: not answering, ${next}`);
  }
  return parts;
}

function render() {
  if (!client) return;
  const started = client.media.started;
  const streams = started ? client.media.remoteStreams() : new Map();
  renderTiles(streams);
  const topology = client.media.topology;
  $("topology").dataset.topology = topology;
  if (!started) {
    $("topology").textContent = "Video: off.";
    return;
  }
  const parts = statusParts(streams);
  if (topology === "relay") parts.unshift(`sending: ${STATE_NAMES[client.media.pub?.state] || "not yet"}`);
  const line = `Video: ${TOPOLOGY_NAMES[topology] || topology}`;
  $("topology").textContent = parts.length ? `${line} · ${parts.join(" · ")}` : `${line}.`;
}
