"""The Lua script behind ``RedisBroker.reseed`` (see ``Broker.reseed``): restoring a session's
log from a replica after Redis lost it. Kept apart from ``redis_scripts`` so recovery can change
without touching the hot path. Every key it touches carries the session's hash tag (one slot).
"""

from __future__ import annotations

from server.broker.base import MARKS_CHECKED

# KEYS = seq, epoch, log, snap, replaced; ARGV = known epoch, known seq, candidate epoch,
# snapshot payload ('' : check only, never re-seed), history_size, renew_from ('' : none),
# then the caller's marks as seq, ts pairs (``Broker.reseed``).
# In the caller's epoch, the log may still have diverged from the caller: Redis came back short
# of its last writes and a replica that was behind appended over the lost seqs. So the event at
# the highest seq both have (the top, when the log is the shorter) is compared by its timestamp
# (an event is msgpack [kind, ts, data]); a redacted post's seq has no entry in the stream
# (``replace`` moved it to the hash) and the one below is compared instead.
# Events appended after the loss (by a worker whose append recreated the session's keys with
# a fresh epoch and seqs from 1) are not in the caller's state: they move just above its seq,
# in order, with the payloads ``replace`` left for them, so none is lost and no seq is reused.
# Their old seqs run without a gap from the first one kept (appends count up; the stream is
# trimmed from the front only), so each moves by the same shift; the snapshot keeps it
# (``moved_from``, ``moved_first``, ``moved_by``) for the workers that adopt this epoch: an
# append answered in the old one is reported where its event now is.
# A renewed epoch keeps ``agreed`` (renew_from; -1: not renewed) with its snapshot for the
# workers that adopt it. Replies: {outcome, top, epoch[, moved_from, moved_first, moved_by,
# agreed]}.
RESEED = """
local epoch = redis.call('GET', KEYS[2])
local top = tonumber(redis.call('GET', KEYS[1]) or '-1')
local floor = tonumber(ARGV[2])
if epoch == ARGV[1] then
  local marks, marked = {}, false
  for i = 7, #ARGV - 1, 2 do
    marks[tonumber(ARGV[i])] = tonumber(ARGV[i + 1])
    marked = true
  end
  local at = math.min(top, floor)
  -- Shorter than the caller by more than it remembers: written over or not, it cannot tell,
  -- and only following the log loses nothing appended since.
  if marked and top < floor and not marks[at] then return {'diverged', top, epoch} end
  for _ = 1, MARKS_CHECKED do
    local want = marks[at]
    if not want then break end
    local entry = redis.call('XRANGE', KEYS[3], at .. '-0', at .. '-0')
    if #entry > 0 then
      local ok, event = pcall(cmsgpack.unpack, entry[1][2][2])
      if ok and type(event) == 'table' and event[2] ~= want then
        return {'diverged', top, epoch}
      end
      break
    end
    at = at - 1
  end
  if ARGV[6] ~= '' and ARGV[4] ~= '' and top >= floor then
    -- Renewed: the same entries under a new epoch whose snapshot is the caller's state at
    -- floor; whatever was appended above floor meanwhile stays, at the same seqs.
    redis.call('SET', KEYS[2], ARGV[3])
    redis.call('HSET', KEYS[4], 'seq', floor, 'epoch', ARGV[3], 'payload', ARGV[4],
      'moved_from', epoch, 'moved_first', floor + 1, 'moved_by', 0, 'agreed', tonumber(ARGV[6]))
    return {'reseeded', top, ARGV[3], epoch, floor + 1, 0, tonumber(ARGV[6])}
  end
  if top >= floor then return {'intact', top, epoch} end
  -- A renewal is of the log's own history: shorter again meanwhile, it is decided anew.
  if ARGV[6] ~= '' then return {'unsettled', top, epoch} end
end
if epoch and epoch ~= ARGV[1] and redis.call('HGET', KEYS[4], 'epoch') == epoch then
  local moved = redis.call('HMGET', KEYS[4], 'moved_from', 'moved_first', 'moved_by', 'agreed')
  return {'adopt', top, epoch, moved[1] or '', tonumber(moved[2] or '0'),
    tonumber(moved[3] or '0'), tonumber(moved[4] or '-1')}
end
if ARGV[4] == '' then return {'unsettled', top, epoch or ''} end
local found, seqs = {}, {}
if epoch ~= ARGV[1] then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[3], '-', '+')) do
    found[tonumber(string.match(entry[1], '^(%d+)'))] = entry[2][2]
  end
  local replaced = redis.call('HGETALL', KEYS[5])
  for i = 1, #replaced, 2 do found[tonumber(replaced[i])] = replaced[i + 1] end
  for seq in pairs(found) do seqs[#seqs + 1] = seq end
  table.sort(seqs)
end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
local keep = tonumber(ARGV[5])
local seq = floor
for _, old in ipairs(seqs) do
  seq = seq + 1
  local minid = math.max(seq - keep + 1, 0)
  redis.call('XADD', KEYS[3], 'MINID', '=', minid, seq .. '-0', 'p', found[old])
end
local moved_from, moved_first, moved_by = '', 0, 0
if #seqs > 0 and epoch then
  moved_from, moved_first, moved_by = epoch, seqs[1], floor + 1 - seqs[1]
end
redis.call('SET', KEYS[1], seq)
redis.call('SET', KEYS[2], ARGV[3])
local agreed = tonumber(ARGV[6] ~= '' and ARGV[6] or '-1')
redis.call('HSET', KEYS[4], 'seq', floor, 'epoch', ARGV[3], 'payload', ARGV[4],
  'moved_from', moved_from, 'moved_first', moved_first, 'moved_by', moved_by, 'agreed', agreed)
return {'reseeded', seq, ARGV[3], moved_from, moved_first, moved_by, agreed}
""".replace("MARKS_CHECKED", str(MARKS_CHECKED))
