// media.js: video for the SDK (docs/protocol.md section 21). The client owns one, `client.media`;
// nothing happens until `await client.media.start({stream})` (a camera and microphone stream, or
// null to only watch). Then it follows the session's topology:
//
// - p2p / mesh: one PeerLink (peer.js) with every other publisher present. The side with the
//   lower participant id opens the connection (it is the impolite side); the other waits for its
//   offer. This is also the synthetic station's rule (server/media/station.py), so a browser and
//   aiortc never both open one. A broken connection is mended by the side that opened it: an
//   ICE restart when the remote is a browser, a new connection (a new `pc`) when it is aiortc,
//   or when a restart or a first attempt did not connect within CONNECT_MS. A remote that
//   never answers is offered to again after growing pauses, then no more until it gives a sign
//   of life (`unanswered()` says who, for the page to show).
// - relay: a `pub` connection this side offers with its tracks, and the relay's `sub-N` offers,
//   answered, each replacing the one before.
//
// Publishers are hosts, teachers, stations and the students a teacher granted video
// (`takesPartInVideo`). A publisher with no camera (stream null) still takes part: it offers
// receive-only transceivers, or answers with what the offer brings.
//
// Signals that arrive before start() wait for it (an offer can come right after the welcome).
// Announces {type: "change"} through the client's "media" event whenever a connection, a
// remote stream or the topology changed.

import { PeerLink } from "./peer.js";

export const RELAY = "relay";
const PUBLISHER_ROLES = new Set(["host", "teacher", "station"]);
const CONNECT_MS = 12000; // a connection (or an ICE restart) not up by then is replaced
// A remote that never answers (a page that does not take part in video, a device gone to
// sleep) is not offered to every CONNECT_MS forever: after each unanswered attempt the next
// waits longer, and after MAX_ATTEMPTS we wait for it to give a sign (a signal, a new join,
// a topology or grant change) before trying again.
const BACKOFF_MS = 6000; // the pause after the first unanswered attempt, doubled each time
const MAX_BACKOFF_MS = 60000;
const MAX_ATTEMPTS = 5;
const DOWN_MS = 5000; // one no longer connected for this long is mended (a failed one at once)
const WATCH_MS = 1000;
const SEND_ATTEMPTS = 5; // a newcomer may not be reachable for signals the instant it joined
const RETRY_MS = 250;
const EARLY_SIGNALS = 50; // a page that has not started video yet keeps no more

// Who takes part in video (section 21): hosts, teachers and stations by role, and the students
// a teacher granted video (session.media.grants).
export function takesPartInVideo(session, participant) {
  if (!participant) return false;
  if (PUBLISHER_ROLES.has(participant.role)) return true;
  return participant.role === "student" && Boolean(session?.media?.grants?.includes(participant.id));
}

export class Media {
  constructor(client) {
    this.client = client;
    this.started = false;
    this.local = null; // our camera and microphone (a MediaStream), or null: watching only
    this.peers = new Map(); // remote participant id -> PeerLink (p2p / mesh)
    this.pub = null; // relay mode: our PeerLink "pub" and the relay's newest "sub-N"
    this.sub = null;
    this._early = [];
    this._unanswered = new Map(); // remote -> {attempts, retryAt}: offers it never answered
    this._names = 0;
    this._watch = null;
    client.on("signal", (message) => this._onSignal(message));
    client.on("event", (event) => this._onEvent(event));
    client.on("welcome", ({ resume }) => { if (resume !== "events") this._sync(); });
    client.on("iceServers", ({ servers }) => {
      for (const link of this._links()) link.setIceServers(servers);
    });
  }

  get topology() {
    return this.client.session?.media?.topology || "none";
  }

  async start({ stream = null } = {}) {
    if (this.started) return;
    this.local = stream;
    this.started = true;
    this._watch = setInterval(() => this._check(), WATCH_MS);
    this._sync();
    for (const message of this._early.splice(0)) this._onSignal(message);
  }

  stop() {
    this.started = false;
    clearInterval(this._watch);
    this._unanswered.clear();
    this._early = []; // offers for the connections we just dropped
    this.local = null;
    for (const remote of [...this.peers.keys()]) this._drop(remote);
    this._dropRelay();
    this._changed();
  }

  // Camera or microphone on and off, without renegotiating: the track sends black or silence.
  setEnabled(kind, enabled) {
    for (const track of this.local?.getTracks() || []) if (track.kind === kind) track.enabled = enabled;
  }

  // What each remote publisher sends: participant id -> {stream, state, pc}.
  remoteStreams() {
    const streams = new Map();
    for (const [remote, link] of this.peers) {
      streams.set(remote, { stream: link.stream, state: link.state, pc: link.name });
    }
    if (this.sub) {
      for (const [publisher, stream] of this._relayedStreams()) {
        streams.set(publisher, { stream, state: this.sub.state, pc: this.sub.name });
      }
    }
    return streams;
  }

  // Video frames decoded so far, by remote publisher, from each connection's getStats().
  async framesDecoded() {
    const decoded = {};
    for (const [remote, link] of this.peers) {
      let sum = 0;
      for (const frames of (await link.framesDecoded()).values()) sum += frames;
      decoded[remote] = sum;
    }
    if (this.sub) {
      for (const [trackId, frames] of await this.sub.framesDecoded()) {
        const publisher = this._publisherOf(trackId);
        if (publisher) decoded[publisher] = (decoded[publisher] || 0) + frames;
      }
    }
    return decoded;
  }

  // Remotes we offered to and that never answered: participant id -> {attempts, retryInMs}
  // (retryInMs null: we gave up until it gives a sign of life).
  unanswered() {
    const now = performance.now();
    const waiting = new Map();
    for (const [remote, { attempts, retryAt }] of this._unanswered) {
      const retryInMs = Number.isFinite(retryAt) ? Math.max(0, retryAt - now) : null;
      waiting.set(remote, { attempts, retryInMs });
    }
    return waiting;
  }

  // Connection states by `pc` name (the relay's and the peers').
  states() {
    return Object.fromEntries(this._links().map((link) => [`${link.remote}/${link.name}`, link.state]));
  }

  // --- following the session ----------------------------------------------------------------

  _publishers() {
    const me = this.client.me?.id;
    const session = this.client.session;
    return [...this.client.participants.values()]
      .filter((p) => p.present && p.id !== me && takesPartInVideo(session, p))
      .map((p) => p.id);
  }

  _opens(remote) {
    return this.client.me.id < remote; // the lower id offers (and is impolite)
  }

  _onEvent({ kind, data }) {
    if (!this.started || !data) return;
    if (kind === "media.topology") {
      this._unanswered.clear(); // a new decision: everyone gets a fresh chance
      this._sync();
    } else if (kind === "participant.left") {
      this._unanswered.delete(data.participant_id);
      this._drop(data.participant_id);
    } else if (kind === "participant.joined") {
      this._joined(data.participant);
    } else if (kind === "media.granted" && data.participant_id !== this.client.me?.id) {
      // A student starts or stops taking part (our own grant is the page's to act on).
      this._unanswered.delete(data.participant_id);
      this._sync();
    }
  }

  _joined(participant) {
    this._unanswered.delete(participant.id);
    if (participant.id === this.client.me.id) {
      // We were logged as gone and came back: the others dropped their side of everything.
      for (const remote of [...this.peers.keys()]) this._drop(remote);
      this._dropRelay();
    } else if (takesPartInVideo(this.client.session, participant) && this._opens(participant.id)) {
      this._drop(participant.id); // it comes anew: whatever we had with it is gone on its side
    }
    this._sync();
  }

  // Brings the connections in line with the topology and who is present.
  _sync() {
    if (!this.started || !this.client.me) return;
    if (this.topology === "relay") {
      for (const remote of [...this.peers.keys()]) this._drop(remote);
      if (!this.pub) this._offerPub();
    } else {
      this._dropRelay();
      const present = new Set(this._publishers());
      for (const remote of [...this.peers.keys()]) if (!present.has(remote)) this._drop(remote);
      for (const remote of [...this._unanswered.keys()]) if (!present.has(remote)) this._unanswered.delete(remote);
      this._openMissing(present);
    }
    this._changed();
  }

  // Opens a connection to each publisher we open to and have none with, unless it is one that
  // did not answer and its pause is not over.
  _openMissing(present = new Set(this._publishers())) {
    if (this.topology !== "p2p" && this.topology !== "mesh") return;
    const now = performance.now();
    for (const remote of present) {
      if (this.peers.has(remote) || !this._opens(remote)) continue;
      if ((this._unanswered.get(remote)?.retryAt ?? 0) > now) continue;
      this._open(remote);
    }
  }

  // The watchdog: mends what broke (see the top of this file).
  _check() {
    for (const [remote, link] of [...this.peers]) {
      if (link.state === "connected") this._unanswered.delete(remote); // it answers
      const stuck = link.neverUpAfter(CONNECT_MS);
      const broken = link.state === "failed" || link.downFor(DOWN_MS);
      if (!this._opens(remote)) {
        // The other side mends it (a restart or a new offer); give up on what it abandoned.
        if (link.state === "closed" || link.neverUpAfter(2 * CONNECT_MS) || link.downFor(2 * CONNECT_MS)) {
          this._drop(remote);
        }
      } else if (broken && link.upSinceRestart && link.restartIce()) {
        // an ICE restart (a browser remote); failed again, or not up in time: a new connection
      } else if (stuck && link.connectedAt === null) {
        this._backOff(remote); // it never answered this offer
      } else if (broken || stuck) {
        this._open(remote);
      }
    }
    if (this.topology !== "relay") this._openMissing();
    // While a pause runs, the page's status line counts it down.
    if ([...this._unanswered.values()].some(({ retryAt }) => Number.isFinite(retryAt))) this._changed();
    if (this.topology === "relay") {
      const pub = this.pub;
      if (!pub || pub.state === "failed" || pub.downFor(DOWN_MS) || pub.neverUpAfter(CONNECT_MS)) this._offerPub();
      if (this.sub && (this.sub.state === "failed" || this.sub.downFor(DOWN_MS))) this._dropSub(); // a new one comes
    }
  }

  // --- connections ---------------------------------------------------------------------------

  _link(remote, name, polite, options = {}) {
    // Video before audio: the m-line order aiortc's station expects when it answers (with its
    // own tracks added before the offer, aiortc 1.16 gathers no candidates for another order).
    const tracks = [...(this.local?.getVideoTracks() || []), ...(this.local?.getAudioTracks() || [])]
      .map((track) => [track, this.local]);
    return new PeerLink({
      remote,
      name,
      polite,
      iceServers: this.client.iceServers || [],
      tracks: options.receiveOnly ? [] : tracks,
      // Nothing to send: an offer asks to receive (video, then audio: the same order); an
      // answer takes the offer's m-lines as they come (extra transceivers of its own would
      // only make it renegotiate for nothing).
      receive: options.receiveOnly || options.answering || tracks.length ? [] : ["video", "audio"],
      send: (message) => this._send(remote, name, message),
      onChange: () => this._changed(),
      onError: (error) => console.warn(`classbridge: ${remote}/${name}:`, error),
    });
  }

  // An offer went unanswered: close that connection and wait before the next one (or stop
  // after MAX_ATTEMPTS until the remote gives a sign of life, see _onSignal and _onEvent).
  _backOff(remote) {
    const attempts = (this._unanswered.get(remote)?.attempts || 0) + 1;
    const pause = Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** (attempts - 1));
    const retryAt = attempts >= MAX_ATTEMPTS ? Infinity : performance.now() + pause;
    this._unanswered.set(remote, { attempts, retryAt });
    console.warn(`classbridge: ${remote} did not answer offer ${attempts}`);
    this._drop(remote);
  }

  _open(remote) {
    this._drop(remote, false);
    this._names += 1;
    this.peers.set(remote, this._link(remote, `cam-${this._names}`, false)); // offers at once
    this._changed();
  }

  _drop(remote, announce = true) {
    const link = this.peers.get(remote);
    if (!link) return;
    this.peers.delete(remote);
    link.close();
    if (announce) this._changed();
  }

  _offerPub() {
    this.pub?.close();
    this.pub = this._link(RELAY, "pub", false);
    this._changed();
  }

  _dropSub() {
    this.sub?.close();
    this.sub = null;
    this._changed();
  }

  _dropRelay() {
    this.pub?.close();
    this.pub = null;
    if (this.sub) this._dropSub();
  }

  _links() {
    return [...this.peers.values(), this.pub, this.sub].filter(Boolean);
  }

  // --- signals ---------------------------------------------------------------------------------

  _onSignal(message) {
    if (!this.started) {
      if (this._early.length < EARLY_SIGNALS) this._early.push(message);
      return;
    }
    const { from, pc: name, description, candidate } = message;
    const payload = description ? { description } : { candidate };
    this._unanswered.delete(from); // it is there after all: the watchdog may offer again
    if (from === RELAY) {
      this._onRelaySignal(name, payload);
      return;
    }
    if (this.topology === "relay") return; // a late one from the mesh: the relay carries video now
    const link = this.peers.get(from);
    if (link && link.name === name) {
      link.receive(payload);
    } else if (description?.type === "offer") {
      // A new connection from `from`. If we opened one too and it is still on its way, ours wins
      // when we are the impolite side (the polite side drops its own for ours).
      if (link && this._opens(from) && link.state !== "connected" && !link.pc.remoteDescription) return;
      this._drop(from, false);
      const answering = this._link(from, name, !this._opens(from), { answering: true });
      this.peers.set(from, answering);
      answering.receive(payload);
      this._changed();
    } // else: a candidate or an answer for a connection that is gone
  }

  _onRelaySignal(name, payload) {
    if (name === "pub") {
      this.pub?.receive(payload);
    } else if (payload.description?.type === "offer") {
      if (this.topology !== "relay") return;
      this.sub?.close(); // the relay closed it on its side already
      this.sub = this._link(RELAY, name, true, { receiveOnly: true });
      this.sub.receive(payload);
      this._changed();
    } else if (this.sub?.name === name) {
      this.sub.receive(payload);
    }
  }

  // Sends one signal; retried while the recipient is not reachable yet (it just joined).
  async _send(to, pc, fields) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.client.signal(to, pc, fields);
      } catch (error) {
        const retry = ["participant_absent", "not_connected", "rate_limited"].includes(error.code);
        if (!retry || attempt >= SEND_ATTEMPTS) throw error; // the watchdog tries again later
        await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs || RETRY_MS * attempt));
      }
    }
  }

  // --- relayed streams: one per publisher, named by the stream id (protocol.md, "The relay") --

  _publisherOf(trackId) {
    const [track, streams] = this.sub?.tracks.get(trackId) || [];
    if (!track) return null;
    return streams?.[0]?.id || track.id.replace(/-(video|audio)$/, "");
  }

  _relayedStreams() {
    const sub = this.sub;
    sub.byPublisher ??= new Map();
    for (const [trackId, [track]] of sub.tracks) {
      const publisher = this._publisherOf(trackId);
      if (!publisher || publisher === this.client.me?.id) continue;
      if (!sub.byPublisher.has(publisher)) sub.byPublisher.set(publisher, new MediaStream());
      const stream = sub.byPublisher.get(publisher);
      if (!stream.getTrackById(track.id)) stream.addTrack(track);
    }
    return sub.byPublisher;
  }

  _changed() {
    this.client._emit("media", { type: "change" });
  }
}
