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
-- ARGV[6]  optional: a reservation whose send came too late for its instant. Its units were
--          not sent, so it is taken out of the log; if they fit at `now` (every window that
--          holds `now` stays within the limit, and no pause is on) it is put back at `now`
--          and leaves at once; otherwise ARGV[4] is reserved as usual.
-- Returns {delay, instant, moved} in microseconds; moved = 1 when ARGV[6] was put at `now`.

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME then write

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local log, member = KEYS[1], ARGV[4]
local limit, cost, width = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local gap = tonumber(ARGV[5])

-- Lua turns numbers into "%.14g" strings, which would round a 16-digit instant.
local function int(x) return string.format('%.0f', x) end

local function units(entry) return tonumber(string.match(entry, ':(%d+)$')) end

-- A retried call (the first reply was lost) gets the reservation it already made.
local booked = redis.call('ZSCORE', log, member)
if booked then
  local instant = tonumber(booked)
  return {math.max(instant - now, 0), instant, 0}
end

-- Entries at or before now - width can no longer share a window with any new instant.
redis.call('ZREMRANGEBYSCORE', log, '-inf', int(now - width))

local at = now
local paused = redis.call('GET', KEYS[2])
if paused then at = math.max(at, tonumber(paused)) end

-- Whether `c` more units at instant `x` keep every window holding `x` within the limit: the
-- one ending at `x`, and the one ending at each later entry less than `width` after it.
local function fits(x, c)
  local near = redis.call('ZRANGEBYSCORE', log, '(' .. int(x - width), '(' .. int(x + width),
                          'WITHSCORES')
  local used, first = c, 1
  for i = 1, #near, 2 do
    local instant = tonumber(near[i + 1])
    if instant <= x then used = used + units(near[i]) end
  end
  if used > limit then return false end
  used = 0
  for i = 1, #near, 2 do
    local instant = tonumber(near[i + 1])
    used = used + units(near[i])
    while tonumber(near[first + 1]) <= instant - width do
      used = used - units(near[first])
      first = first + 2
    end
    if instant > x and used + c > limit then return false end
  end
  return true
end

local stale = ARGV[6]
if stale then redis.call('ZREM', log, stale) end
if stale and at == now and fits(now, units(stale)) then
  redis.call('ZADD', log, int(now), stale)
  if redis.call('PTTL', log) < width / 1000 then
    redis.call('PEXPIRE', log, int(math.ceil(width / 1000) + 1))
  end
  return {0, now, 1}
end

-- Each entry holds at least one unit, so limit - cost + 1 entries are enough to overflow.
local recent = redis.call('ZREVRANGE', log, 0, limit - cost, 'WITHSCORES')
local used = cost
for i = 1, #recent, 2 do
  local instant = tonumber(recent[i + 1])
  if i == 1 then at = math.max(at, instant + gap) end
  used = used + units(recent[i])
  if used > limit then
    at = math.max(at, instant + width)
    break
  end
end

redis.call('ZADD', log, int(at), member)
redis.call('PEXPIRE', log, int(math.ceil((at - now + width) / 1000) + 1))
return {at - now, at, 0}
