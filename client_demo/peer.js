// peer.js: one WebRTC peer connection with one remote, negotiated over Classbridge `signal`s
// (docs/protocol.md, "signal" and section 21). Used by media.js; no dependencies.
//
// "Perfect negotiation": either side may offer on an open connection, and when two offers
// cross, the polite side (the higher participant id) yields: it drops its own offer (an
// implicit rollback) and answers; the impolite side (the lower id) ignores the offer it got.
// aiortc, which plays the synthetic station and the relay, cannot roll back, and it has the
// lower id exactly when it offers, so it is always the impolite side of a pair it offers in.
//
// Remotes come in two kinds, told apart by their SDP:
// - "trickle" remotes (browsers) say `a=ice-options:trickle`, send their candidates one by one
//   and can restart ICE on the same connection;
// - the others (aiortc) put every candidate in the SDP, answer each offer with a fresh
//   connection of their own, and cannot restart ICE or roll back. A connection with one of them
//   is never renegotiated: when it fails, media.js replaces it with a new one.
//
// Everything that arrives is handled in order, one message at a time; candidates that come
// before the remote description (or before the offer they belong to was applied) wait for it.
// Everything that goes out is sent in order too, each message after the previous one was
// accepted by the server.

const TRICKLE = /^a=ice-options:.*\btrickle\b/m;
const MAX_WAITING_CANDIDATES = 100;

export class PeerLink {
  // remote: participant id (or "relay"); name: the `pc` of the signals; polite: yields on a
  // collision; tracks: [[track, stream]] to send; receive: kinds to receive without sending;
  // send(message) -> Promise: sends {description} or {candidate} for this `pc`;
  // onTrack(track, streams), onChange(link), onError(error).
  constructor({ remote, name, polite, iceServers, tracks = [], receive = [], send, onTrack, onChange, onError }) {
    this.remote = remote;
    this.name = name;
    this.polite = polite;
    this.trickles = null; // unknown until the first remote description
    this.createdAt = performance.now();
    this.restartedAt = null; // when this side last restarted ICE
    this.connectedAt = null; // when the connection was last seen connected
    this.downSince = null; // when it stopped being connected (after it was)
    this.stream = new MediaStream(); // what the remote sends, in one stream
    this.tracks = new Map(); // receiving track id -> [track, streams] (the relay sends many)
    this._send = send;
    this._onChange = onChange || (() => {});
    this._onError = onError || (() => {});
    this._makingOffer = false;
    this._ignoreOffer = false;
    this._waiting = []; // candidates that came before their remote description
    this._incoming = Promise.resolve();
    this._outgoing = Promise.resolve();
    this.closed = false;
    this.collisions = 0; // offers that crossed ours (the polite side rolled its own back)
    const pc = new RTCPeerConnection({ iceServers: iceServers || [], bundlePolicy: "max-bundle" });
    this.pc = pc;
    for (const [track, stream] of tracks) pc.addTrack(track, stream);
    for (const kind of receive) pc.addTransceiver(kind, { direction: "recvonly" });
    pc.onnegotiationneeded = () => this._negotiate();
    pc.onicecandidate = ({ candidate }) => {
      // null: gathering finished; "" is how the protocol says so.
      this._queueSend({ candidate: candidate ? candidate.toJSON() : { candidate: "" } });
    };
    pc.ontrack = (event) => {
      this.tracks.set(event.track.id, [event.track, event.streams]);
      this.stream.addTrack(event.track);
      event.track.addEventListener("ended", () => this._onChange(this));
      onTrack?.(event.track, event.streams);
      this._onChange(this);
    };
    pc.onconnectionstatechange = () => {
      const connected = pc.connectionState === "connected";
      if (connected) this.connectedAt = performance.now();
      if (connected) this.downSince = null;
      else if (this.connectedAt !== null) this.downSince ??= performance.now();
      this._onChange(this);
    };
  }

  get state() {
    return this.closed ? "closed" : this.pc.connectionState;
  }

  get ageMs() {
    return performance.now() - (this.restartedAt ?? this.createdAt);
  }

  // Connected at some point since it was made, or since its last ICE restart.
  get upSinceRestart() {
    return this.connectedAt !== null && this.connectedAt >= (this.restartedAt ?? 0);
  }

  // Not connected since it was made (or since its ICE restart) and older than `ms`.
  neverUpAfter(ms) {
    return this.state !== "connected" && !this.upSinceRestart && this.ageMs > ms;
  }

  // Closed, or no longer connected for `ms` (a remote that closed its side can leave the state
  // at "disconnected" or even "new" rather than "failed").
  downFor(ms) {
    if (this.state === "closed") return true;
    return this.downSince !== null && performance.now() - this.downSince > ms;
  }

  // Who may offer now: the impolite side opens a connection; once open, either side of a
  // connection with a trickle remote renegotiates; nobody re-offers to an aiortc remote.
  get mayOffer() {
    if (!this.pc.remoteDescription) return !this.polite;
    return this.trickles === true;
  }

  // ICE restart, on the same connection (trickle remotes only: see mayOffer).
  restartIce() {
    if (this.closed || !this.mayOffer) return false;
    this.restartedAt = performance.now();
    this.downSince = null;
    this.pc.restartIce(); // fires negotiationneeded
    return true;
  }

  setIceServers(iceServers) {
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (error) {
      this._onError(error);
    }
  }

  // A peer.signal for this connection: {description} or {candidate}.
  receive(message) {
    this._incoming = this._incoming
      .then(() => (this.closed ? undefined : this._receive(message)))
      .catch((error) => this._onError(error));
    return this._incoming;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
    this._onChange(this);
  }

  // Inbound video frames decoded so far, by receiving track id (for tests and status lines).
  async framesDecoded() {
    if (this.closed) return new Map();
    const decoded = new Map();
    const report = await this.pc.getStats();
    report.forEach((stat) => {
      if (stat.type === "inbound-rtp" && stat.kind === "video") {
        decoded.set(stat.trackIdentifier, stat.framesDecoded || 0);
      }
    });
    return decoded;
  }

  // --- inside -------------------------------------------------------------------------------

  async _negotiate() {
    if (this.closed || !this.mayOffer) return;
    try {
      this._makingOffer = true;
      await this.pc.setLocalDescription();
      if (this.pc.localDescription.type === "offer") this._queueSend({ description: this._local() });
    } catch (error) {
      this._onError(error);
    } finally {
      this._makingOffer = false;
    }
  }

  async _receive({ description, candidate }) {
    const pc = this.pc;
    if (description) {
      const offer = description.type === "offer";
      const collision = offer && (this._makingOffer || pc.signalingState !== "stable");
      this._ignoreOffer = !this.polite && collision;
      if (collision) this.collisions += 1;
      if (this._ignoreOffer) return; // ours wins: the polite side answers it
      if (!offer && pc.signalingState !== "have-local-offer") return; // a stale answer
      this.trickles = TRICKLE.test(description.sdp || "");
      await pc.setRemoteDescription(description); // on a collision: rolls our offer back
      for (const waiting of this._waiting.splice(0)) await this._addCandidate(waiting);
      if (offer) {
        await pc.setLocalDescription();
        this._queueSend({ description: this._local() });
      }
    } else if (candidate) {
      if (!pc.remoteDescription) {
        if (this._waiting.length < MAX_WAITING_CANDIDATES) this._waiting.push(candidate);
        return;
      }
      await this._addCandidate(candidate);
    }
  }

  async _addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored, or of an ICE generation gone: expected, not errors.
      console.debug("classbridge: candidate from %s not added: %s", this.remote, error.message);
    }
  }

  _local() {
    const { type, sdp } = this.pc.localDescription;
    return { type, sdp };
  }

  _queueSend(message) {
    this._outgoing = this._outgoing
      .then(() => (this.closed ? undefined : this._send(message)))
      .catch((error) => this._onError(error));
  }
}
