// video.js: the station view's video panel, on the SDK's media part (media.js): our own
// preview, one tile per partner stream labelled with its class, camera and microphone
// toggles, and a line saying how video flows. Names come from people: textContent only.

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

let client = null;
let started = false;

// Starts the camera and the video connections (once per page).
export async function startVideo(sdk) {
  client = sdk;
  if (started) return;
  started = true;
  client.on("media", render);
  client.on("presence", render);
  client.on("event", (event) => { if (event.kind === "media.topology") render(); });
  let stream = null;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 } },
      audio: true,
    });
    showLocal(stream);
  } catch (error) {
    $("video-note").textContent = `No camera (${error.name}): this station only watches.`;
  }
  await client.media.start({ stream });
  render();
}

function showLocal(stream) {
  const preview = $("preview");
  preview.srcObject = stream;
  play(preview);
  toggle($("camera-toggle"), "video", ["Turn camera off", "Turn camera on"], stream);
  toggle($("mic-toggle"), "audio", ["Mute microphone", "Unmute microphone"], stream);
}

function toggle(button, kind, [onText, offText], stream) {
  if (!stream.getTracks().some((track) => track.kind === kind)) return;
  button.disabled = false;
  button.addEventListener("click", () => {
    const off = button.getAttribute("aria-pressed") !== "true";
    client.media.setEnabled(kind, !off);
    button.setAttribute("aria-pressed", String(off));
    button.textContent = off ? offText : onText;
  });
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

function render() {
  if (!client?.media.started) return;
  const streams = client.media.remoteStreams();
  const shown = new Set();
  for (const [remote, { stream }] of streams) {
    if (stream.getTracks().length === 0) continue; // nothing arrived yet: see the status line
    tileFor(remote, stream);
    shown.add(remote);
  }
  for (const tile of $("video-tiles").querySelectorAll("figure[data-remote]")) {
    if (!shown.has(tile.dataset.remote)) tile.remove();
  }
  const topology = client.media.topology;
  const parts = [...streams].map(([remote, { state }]) => `${labelOf(remote)}: ${STATE_NAMES[state] || state}`);
  if (topology === "relay") parts.unshift(`sending: ${STATE_NAMES[client.media.pub?.state] || "not yet"}`);
  const line = `Video: ${TOPOLOGY_NAMES[topology] || topology}`;
  $("topology").textContent = parts.length ? `${line} · ${parts.join(" · ")}` : `${line}.`;
  $("topology").dataset.topology = topology;
}
