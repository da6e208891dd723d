// media.js: video for the SDK (docs/protocol.md section 21). The client owns one, `client.media`;
// nothing happens until `await client.media.start({stream})` (a camera and microphone stream, or
// null to only watch). Then it follows the session's topology:
//
// - p2p / mesh: one PeerLink (peer.js) with every other publisher present. The side with the
//   lower participant id opens the connection (it is the impolite side); the other waits for its
//   offer. This is also the synthetic station's rule (server/media/station.py), so a browser and
//   aiortc never both open one. A broken connection is mended by the side that opened it: an
//   ICE restart when the remote is a browser, a new connection (a new `pc`) when it is aiortc,
//   or when a restart or a first attempt did not connect within CONNECT_MS.
// - relay: a `pub` connection this side offers with its tracks, and the relay's `sub-N` offers,
//   answered, each replacing the one before.
//
// Signals that arrive before start() wait for it (an offer can come right after the welcome).
// Announces {type: "change"} through the client's "media" event whenever a connection, a
// remote stream or the topology changed.

import { PeerLink } from "./peer.js";

export const RELAY = "relay";
export const PUBLISHER_ROLES = new Set(["host", "teacher", "station"]);
const CONNECT_MS = 12000; // a connection (or an ICE restart) not up by then is replaced
const DOWN_MS = 5000; // one no longer connected for this long is mended (a failed one at once)
const WATCH_MS = 1000;
const SEND_ATTEMPTS = 5; // a newcomer may not be reachable for signals the instant it joined
const RETRY_MS = 250;
const EARLY_SIGNALS = 50; // a page that never starts video (a teacher's) keeps no more

export class Media {
  constructor(client) {
    this.client = client;
    this.started = false;
    this.local = null; // our camera and microphone (a MediaStream), or null: watching only
    this.peers = new Map(); // remote participant id -> PeerLink (p2p / mesh)
    this.pub = null; // relay mode: our PeerLink "pub" and the relay's newest "sub-N"
    this.sub = null;
    this._early = [];
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

  // Connection states by `pc` name (the relay's and the peers').
  states() {
    return Object.fromEntries(this._links().map((link) => [`${link.remote}/${link.name}`, link.state]));
  }

  // --- following the session ----------------------------------------------------------------

  _publishers() {
    const me = this.client.me?.id;
    return [...this.client.participants.values()]
      .filter((p) => p.present && p.id !== me && PUBLISHER_ROLES.has(p.role))
      .map((p) => p.id);
  }

  _opens(remote) {
    return this.client.me.id < remote; // the lower id offers (and is impolite)
  }

  _onEvent({ kind, data }) {
    if (!this.started || !data) return;
    if (kind === "media.topology") this._sync();
    else if (kind === "participant.left") this._drop(data.participant_id);
    else if (kind === "participant.joined") this._joined(data.participant);
  }

  _joined(participant) {
    if (participant.id === this.client.me.id) {
      // We were logged as gone and came back: the others dropped their side of everything.
      for (const remote of [...this.peers.keys()]) this._drop(remote);
      this._dropRelay();
    } else if (PUBLISHER_ROLES.has(participant.role) && this._opens(participant.id)) {
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
      if (this.topology === "p2p" || this.topology === "mesh") {
        for (const remote of present) if (!this.peers.has(remote) && this._opens(remote)) this._open(remote);
      }
    }
    this._changed();
  }

  // The watchdog: mends what broke (see the top of this file).
  _check() {
    for (const [remote, link] of [...this.peers]) {
      const stuck = link.neverUpAfter(CONNECT_MS);
      const broken = link.state === "failed" || link.downFor(DOWN_MS);
      if (!this._opens(remote)) {
        // The other side mends it (a restart or a new offer); give up on what it abandoned.
        if (link.state === "closed" || link.neverUpAfter(2 * CONNECT_MS) || link.downFor(2 * CONNECT_MS)) {
          this._drop(remote);
        }
      } else if (broken && link.upSinceRestart && link.restartIce()) {
        // an ICE restart (a browser remote); failed again, or not up in time: a new connection
      } else if (broken || stuck) {
        this._open(remote);
      }
    }
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
      receive: options.receiveOnly || tracks.length ? [] : ["video", "audio"], // the same order
      send: (message) => this._send(remote, name, message),
      onChange: () => this._changed(),
      onError: (error) => console.warn(`classbridge: ${remote}/${name}:`, error),
    });
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
      const answering = this._link(from, name, !this._opens(from));
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
