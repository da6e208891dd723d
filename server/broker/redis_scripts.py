"""Key names and server-side Lua scripts of the ``redis://`` broker.

Every key of a session carries the hash tag ``{<session_id>}``, so a session lives in one
Cluster slot and a script may touch all its keys atomically. Keys of one session:

- ``cb:{sid}:seq``      the last seq handed out (INCR);
- ``cb:{sid}:epoch``    names one unbroken history (see ``ENSURE_EPOCH``);
- ``cb:{sid}:log``      the history: a stream whose entry ids are ``<seq>-0``, field ``p``;
- ``cb:{sid}:replaced`` hash seq -> payload of events rewritten by ``replace`` (see below);
- ``cb:{sid}:snap``     hash with the newest snapshot's ``seq``, ``epoch`` and ``payload``;
- ``cb:{sid}:meta``     the session's directory record;
- ``cb:{sid}:conns``    hash connection key (``<worker>:<connection>``) -> participant id;
- ``cb:{sid}:events``   the pub/sub channel (a channel, not a key; its tag puts it in the
  session's slot, as SPUBLISH in a Cluster needs).

Join codes are ``cb:code:<code>`` -> msgpack ``[session_id, class_id]``: looked up by code,
so they cannot carry the session's tag (in a Cluster they live in other slots than the session;
``create_session`` writes them before the session's record instead of in one MULTI). Nor can
the workers' keys (``cb:workers``, ``cb:worker:<id>:conns``): nothing that touches them needs
to be atomic with a session's keys.

Why ``replace`` needs a side hash: stream entries cannot be edited, and a deleted chat post
must not keep its text in storage, so ``replace`` XDELs the entry and keeps the new payload in
``:replaced``; ``read_since`` lays that hash over the stream. The window is trimmed by MINID
(not MAXLEN: XDEL'd entries do not count towards MAXLEN, so MAXLEN would keep more than
``history_size`` seqs after a replace) and each append drops the one ``:replaced`` field that
just left the window, so the hash never outgrows the history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import msgpack

log = logging.getLogger(__name__)

PAYLOAD_FIELD = b"p"


@dataclass(frozen=True, slots=True)
class SessionKeys:
    seq: str
    epoch: str
    log: str
    replaced: str
    snap: str
    meta: str
    conns: str
    channel: str


@lru_cache(maxsize=4096)  # the hot path (append) needs the names of the same few sessions
def session_keys(session_id: str) -> SessionKeys:
    tag = f"cb:{{{session_id}}}"
    return SessionKeys(
        seq=f"{tag}:seq",
        epoch=f"{tag}:epoch",
        log=f"{tag}:log",
        replaced=f"{tag}:replaced",
        snap=f"{tag}:snap",
        meta=f"{tag}:meta",
        conns=f"{tag}:conns",
        channel=f"{tag}:events",
    )


@lru_cache(maxsize=4096)  # read for every event delivered (``RedisBroker.disruptions``)
def channel_name(session_id: str) -> bytes:
    """The session's pub/sub channel, as the reader's replies name it."""
    return session_keys(session_id).channel.encode()


WORKERS_KEY = "cb:workers"  # sorted set: worker id -> time of its last heartbeat


def worker_connections_key(worker_id: str) -> str:
    """Set of ``<session id> <connection key>`` held by one worker (swept when it dies)."""
    return f"cb:worker:{worker_id}:conns"


def join_code_key(code: str) -> str:
    return f"cb:code:{code}"


# KEYS[1..4] = seq, epoch, log, snap; candidate = a fresh random epoch from the caller (script
# randomness is deterministic in Redis, and a reused epoch would hide a loss of history).
# When the epoch or the seq counter is missing, Redis lost this session's history (a restart
# without persistence, an eviction) or the session is new: start a new epoch. The counter
# restarts above any seq still remembered by the stream or the snapshot, so stream ids keep
# growing (XADD refuses smaller ids) and no replica ever sees a seq twice.
ENSURE_EPOCH = """
local function ensure_epoch(candidate)
  local epoch = redis.call('GET', KEYS[2])
  if epoch and redis.call('EXISTS', KEYS[1]) == 1 then return epoch end
  local floor = tonumber(redis.call('GET', KEYS[1]) or '0')
  local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
  if last[1] then floor = math.max(floor, tonumber(string.match(last[1][1], '^(%d+)'))) end
  floor = math.max(floor, tonumber(redis.call('HGET', KEYS[4], 'seq') or '0'))
  redis.call('SET', KEYS[1], floor)
  redis.call('SET', KEYS[2], candidate)
  return candidate
end
"""

# KEYS = seq, epoch, log, snap, replaced; ARGV = payload, history_size, candidate epoch, channel,
# the caller's epoch and seq ('' and 0: none; see ``Broker.append``).
# One round trip per event: next seq, store, publish. Nothing is stored, and the top returned
# (INCR undone, which costs nothing on the usual path), when the log is not the history the
# caller follows: another epoch (Redis lost it; another replica may have restored it), or a seq
# at or below the caller's (Redis came back short of its last writes: that seq was handed out
# already). Trimming is exact (MINID =, not ~) so read_since keeps exactly
# history_size events like memory://; the cost is that Redis trims one entry per append
# instead of dropping whole stream nodes at once.
# In a Cluster the script publishes with SPUBLISH (sharded pub/sub, Redis 7): the channel has
# the session's hash tag, so it hashes to the slot of the script's keys, which Redis requires
# of a shard channel published from a script; a plain PUBLISH would be broadcast to every
# master of the Cluster.
_APPEND = (
    ENSURE_EPOCH
    + """
local epoch = ensure_epoch(ARGV[3])
local seq = redis.call('INCR', KEYS[1])
if ARGV[5] ~= '' and (epoch ~= ARGV[5] or seq <= tonumber(ARGV[6])) then
  return {redis.call('DECR', KEYS[1]), epoch}
end
local keep = tonumber(ARGV[2])
redis.call('XADD', KEYS[3], 'MINID', '=', math.max(seq - keep + 1, 0), seq .. '-0', 'p', ARGV[1])
if seq > keep then redis.call('HDEL', KEYS[5], seq - keep) end
redis.call('PUBLISH', ARGV[4], cmsgpack.pack({seq, epoch, ARGV[1]}))
return {seq, epoch}
"""
)
APPEND = _APPEND
APPEND_SHARDED = _APPEND.replace("'PUBLISH'", "'SPUBLISH'")

# KEYS = seq, epoch, log, snap; ARGV = candidate epoch. Creates the epoch like append would,
# so a replica that starts from position() and the events appended later agree on it.
POSITION = (
    ENSURE_EPOCH
    + """
local epoch = ensure_epoch(ARGV[1])
return {tonumber(redis.call('GET', KEYS[1])), epoch}
"""
)

# KEYS = log, replaced, epoch; ARGV = seq, payload, epoch. Only events still in the window are
# rewritten (in the stream, or already in the side hash from an earlier replace), and only in
# the caller's epoch: after a loss the seq may be another event's.
REPLACE = """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
local id = ARGV[1] .. '-0'
if #redis.call('XRANGE', KEYS[1], id, id) == 0 and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0
then return 0 end
redis.call('XDEL', KEYS[1], id)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

# KEYS = snap, epoch, seq; ARGV = seq, epoch, payload. Workers save snapshots concurrently and late
# ones must not overwrite a newer one: compare and write in one step. A snapshot of another
# epoch than the log's is refused: a replica still following an old history (or one that may
# hold events the log lost) must not become the current one's start; nor one above the log's
# top (packed before Redis lost its last writes, it would bring them back). What a re-seed moved
# (reseed_script.py) belongs to the epoch it began, not to a later one.
SAVE_SNAPSHOT = """
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[3]) or '-1') then return 0 end
local current = redis.call('HGET', KEYS[1], 'seq')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] then
  redis.call('HDEL', KEYS[1], 'moved_from', 'moved_first', 'moved_by', 'agreed')
end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'epoch', ARGV[2], 'payload', ARGV[3])
return 1
"""


# A session channel carries two shapes of message, told apart by length so that neither needs
# a type field: ``[seq, epoch, payload]`` for a logged event (packed by the append script) and
# ``[payload]`` for a volatile message (packed by ``encode_volatile``).
Delivery = tuple[int, str, bytes] | bytes


def encode_volatile(payload: bytes) -> bytes:
    packed: bytes = msgpack.packb([payload], use_bin_type=True)
    return packed


def decode_delivery(data: object) -> Delivery | None:
    """Lua's cmsgpack packs every string as msgpack str, binary or not, so messages are
    unpacked raw and the epoch decoded here."""
    try:
        unpacked = msgpack.unpackb(data, raw=True)
        if isinstance(unpacked, list) and len(unpacked) == 1 and isinstance(unpacked[0], bytes):
            return unpacked[0]
        seq, epoch, payload = unpacked
        if isinstance(seq, int) and isinstance(epoch, bytes) and isinstance(payload, bytes):
            return seq, epoch.decode(), payload
    except Exception:  # malformed input must not kill the reader; logged below
        pass
    log.error("undecodable message on a session channel; dropped")
    return None
