"""The Lua script behind ``RedisBroker.reseed`` (see ``Broker.reseed``): restoring a session's
log from a replica after Redis lost it. Kept apart from ``redis_scripts`` so recovery can change
without touching the hot path. Every key it touches carries the session's hash tag (one slot).
"""

from __future__ import annotations

# KEYS = seq, epoch, log, snap, replaced; ARGV = known epoch, known seq, candidate epoch,
# snapshot payload, history_size.
# Events appended after the loss (by a worker whose append recreated the session's keys with
# a fresh epoch and seqs from 1) are not in the caller's state: they move just above its seq,
# in order, with the payloads ``replace`` left for them, so none is lost and no seq is reused.
# Their old seqs run without a gap from the first one kept (appends count up; the stream is
# trimmed from the front only), so each moves by the same shift; the snapshot keeps it
# (``moved_from``, ``moved_first``, ``moved_by``) for the workers that adopt this epoch: an
# append answered in the old one is reported where its event now is.
# Replies: {outcome, top, epoch[, moved_from, moved_first, moved_by]}.
RESEED = """
local epoch = redis.call('GET', KEYS[2])
local top = tonumber(redis.call('GET', KEYS[1]) or '-1')
local floor = tonumber(ARGV[2])
if epoch == ARGV[1] and top >= floor then return {'intact', top, epoch} end
if epoch and epoch ~= ARGV[1] and redis.call('HGET', KEYS[4], 'epoch') == epoch then
  local moved = redis.call('HMGET', KEYS[4], 'moved_from', 'moved_first', 'moved_by')
  return {'adopt', top, epoch, moved[1] or '', tonumber(moved[2] or '0'),
    tonumber(moved[3] or '0')}
end
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
redis.call('HSET', KEYS[4], 'seq', floor, 'epoch', ARGV[3], 'payload', ARGV[4],
  'moved_from', moved_from, 'moved_first', moved_first, 'moved_by', moved_by)
return {'reseeded', seq, ARGV[3], moved_from, moved_first, moved_by}
"""
