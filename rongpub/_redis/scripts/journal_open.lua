-- Take a fan-out journal's lease and open it for a new run (see _redis/journal.py).
-- KEYS: meta, lease, sent, failed, unknown, sending
-- ARGV: version, api, message fingerprint, holder (JSON), lease TTL (ms), expire after
--       (ms, 0: never), the error of a target a dead run left sending
-- Returns {"busy", holder} while another run holds the lease, {"version", v} or
-- {"other", api, message} when the journal belongs to something else (nothing changed),
-- else {"ok", token, targets the dead run left sending}.
local meta, lease = KEYS[1], KEYS[2]
if redis.call('EXISTS', lease) == 1 then
  return {'busy', redis.call('HGET', meta, 'holder') or ''}
end
local version = redis.call('HGET', meta, 'version')
if version then
  if version ~= ARGV[1] then
    return {'version', version}
  end
  local api, message = redis.call('HGET', meta, 'api'), redis.call('HGET', meta, 'message')
  if api ~= ARGV[2] or message ~= ARGV[3] then
    return {'other', api or '', message or ''}
  end
elseif redis.call('EXISTS', KEYS[3], KEYS[4], KEYS[5], KEYS[6]) > 0 then
  return {'other', '', ''}  -- outcomes without a header: not a journal this code wrote
else
  redis.call('HSET', meta, 'version', ARGV[1], 'api', ARGV[2], 'message', ARGV[3])
end
local token = redis.call('HINCRBY', meta, 'token', 1)
redis.call('HSET', meta, 'holder', ARGV[4])
redis.call('SET', lease, token, 'PX', ARGV[5])
-- A dead run's requests that left without a recorded outcome: the server may have
-- accepted them, so their targets are unknown (never sent again unless asked).
local left = redis.call('HGETALL', KEYS[6])
for i = 1, #left, 2 do
  local target = left[i]
  local outcome = cjson.encode({target = target, status = 'unknown', error = ARGV[7],
                                request_id = left[i + 1]})
  redis.call('HDEL', KEYS[3], target)
  redis.call('HDEL', KEYS[4], target)
  redis.call('HSET', KEYS[5], target, outcome)
end
redis.call('DEL', KEYS[6])
for i = 3, 6 do
  if ARGV[6] == '0' then redis.call('PERSIST', KEYS[i]) else redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
end
if ARGV[6] == '0' then redis.call('PERSIST', meta) else redis.call('PEXPIRE', meta, ARGV[6]) end
return {'ok', token, #left / 2}
