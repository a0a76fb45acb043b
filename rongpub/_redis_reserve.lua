-- Reserve `cost` units of one quota and say when they may leave (rongpub RedisLimiter).
--
-- The quota keeps an exact log: a sorted set whose members are "<id>:<units>" and whose
-- scores are the instants (microseconds, Redis TIME) at which those units may leave.
-- Instants are handed out in arrival order (FIFO across sizes), so a new reservation only
-- has to fit the window that ends at its own instant: the units of the newest entries up
-- to `width` before it, plus `cost`, must stay within `limit`. The hosts' clocks never
-- enter the decision; the caller is told how long to wait and sleeps once.
--
-- KEYS[1]  the log (sorted set)           KEYS[2]  pause-until instant (string, microseconds)
-- ARGV[1]  limit (units per window)       ARGV[2]  cost (units, 1..limit)
-- ARGV[3]  width: window + margin (microseconds)
-- ARGV[4]  this reservation's member
-- ARGV[5]  least gap after the newest reservation (microseconds; pacing, may be 0)
-- Returns {delay, instant} in microseconds.

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME then write

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local log, member = KEYS[1], ARGV[4]
local limit, cost, width = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local gap = tonumber(ARGV[5])

-- Lua turns numbers into "%.14g" strings, which would round a 16-digit instant.
local function int(x) return string.format('%.0f', x) end

-- A retried call (the first reply was lost) gets the reservation it already made.
local booked = redis.call('ZSCORE', log, member)
if booked then
  local instant = tonumber(booked)
  return {math.max(instant - now, 0), instant}
end

-- Entries at or before now - width can no longer share a window with any new instant.
redis.call('ZREMRANGEBYSCORE', log, '-inf', int(now - width))

local at = now
local paused = redis.call('GET', KEYS[2])
if paused then at = math.max(at, tonumber(paused)) end

-- Each entry holds at least one unit, so limit - cost + 1 entries are enough to overflow.
local recent = redis.call('ZREVRANGE', log, 0, limit - cost, 'WITHSCORES')
local used = cost
for i = 1, #recent, 2 do
  local instant = tonumber(recent[i + 1])
  if i == 1 then at = math.max(at, instant + gap) end
  used = used + tonumber(string.match(recent[i], ':(%d+)$'))
  if used > limit then
    at = math.max(at, instant + width)
    break
  end
end

redis.call('ZADD', log, int(at), member)
redis.call('PEXPIRE', log, int(math.ceil((at - now + width) / 1000) + 1))
return {at - now, at}
