-- Record outcomes and a request about to leave, fenced by the run's token (one call per
-- request; see _redis/journal.py). Every call renews the lease and the keys' expiry.
-- KEYS: meta, lease, sent, failed, unknown, sending
-- ARGV: token, lease TTL (ms), expire after (ms, 0: never), release (1: the run ends),
--       request id, count of its targets, its targets..., then per outcome:
--       target, state ("sent", "failed", "unknown"), value (message UID / outcome JSON)
-- Returns {"ok"}, or {"lost", holder} when the lease expired or another run took it
-- (nothing written).
local meta, lease = KEYS[1], KEYS[2]
if redis.call('GET', lease) ~= ARGV[1] then
  return {'lost', redis.call('HGET', meta, 'holder') or ''}
end
local states = {sent = KEYS[3], failed = KEYS[4], unknown = KEYS[5]}
local count = tonumber(ARGV[6])
local first = 7 + count
for i = first, #ARGV, 3 do
  local target, state = ARGV[i], ARGV[i + 1]
  for name, key in pairs(states) do
    if name == state then redis.call('HSET', key, target, ARGV[i + 2])
    else redis.call('HDEL', key, target) end
  end
  redis.call('HDEL', KEYS[6], target)
end
for i = 7, first - 1 do
  redis.call('HSET', KEYS[6], ARGV[i], ARGV[5])
end
for i = 1, 6 do
  if i == 2 then
    if ARGV[4] == '1' then redis.call('DEL', lease) else redis.call('PEXPIRE', lease, ARGV[2]) end
  elseif ARGV[3] == '0' then redis.call('PERSIST', KEYS[i])
  else redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return {'ok'}
