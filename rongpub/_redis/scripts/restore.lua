-- Register bookings that Redis no longer counts, at their own instants (rongpub RedisLimiter).
--
-- Used when the log was lost (a new epoch: see reserve.lua) for a process's bookings
-- that have left or are leaving now, and when Redis answers again after an outage for the
-- sends the process's local fallback let go meanwhile. Their units are out (or about to be):
-- they are counted where they are, never moved, even where a window then holds more than the
-- limit (the pause the lost epoch set keeps new reservations out of their windows). Entries
-- a width or more in the past are skipped: they share no window with a new reservation. An
-- epoch that vanished under the caller holds new reservations as in reserve.lua.
--
-- KEYS[1]  the log (sorted set)           KEYS[2]  the log's epoch
-- KEYS[3]  pause-until instant
-- ARGV[1]  width: window + margin + slack (microseconds)
-- ARGV[2]  the epoch the caller registers under ("": any)
-- ARGV[3..] pairs: member ("<id>:<units>"), instant (microseconds, Redis time)
-- Returns {entries added, epoch, 1}; {0, epoch, 0} if the epoch differs (nothing is added).

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME then write

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local width = tonumber(ARGV[1])
local function int(x) return string.format('%.0f', x) end

local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = int(now)
  redis.call('SET', KEYS[2], epoch)
  if ARGV[2] ~= '' then
    local hold = now + 2 * width
    if tonumber(redis.call('GET', KEYS[3]) or '0') < hold then
      redis.call('SET', KEYS[3], int(hold), 'PX', int(math.ceil(2 * width / 1000) + 1))
    end
  end
end
if ARGV[2] ~= '' and ARGV[2] ~= epoch then return {0, epoch, 0} end

local added, newest = 0, now
for i = 3, #ARGV - 1, 2 do
  local instant = tonumber(ARGV[i + 1])
  if instant > now - width then
    added = added + redis.call('ZADD', KEYS[1], 'NX', int(instant), ARGV[i])
    newest = math.max(newest, instant)
  end
end
local ttl = math.ceil((newest - now + width) / 1000) + 1
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return {added, epoch, 1}
