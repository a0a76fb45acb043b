-- Reserve `cost` units of one quota and say when they may leave (rongpub RedisLimiter).
--
-- The quota keeps an exact log: a sorted set whose members are "<id>:<units>" and whose
-- scores are the instants (microseconds, Redis TIME) at which those units may leave.
-- A reservation takes the earliest instant `x`, not before now (nor before a pause ends; in a
-- long log, near one of its ends: see `reach`), at which its units fit: every window of
-- `width` that holds `x` (the one ending at `x`, and the one ending at each later entry less
-- than `width` after it) stays within `limit`, and no entry at another instant lies closer
-- than `gap` (pacing); at most `share` reservations share one instant. A reservation never
-- moves another (only a late send does: late.lua), so a later request takes units that would sit idle before an earlier one's
-- instant only where they fit without moving it: no request ever waits longer because of one
-- that came after it (conservative backfilling), and none is placed later than the back of the
-- log. Sharing keeps such units usable: with every entry at an instant of its own, the units
-- one window's run of sends leaves over are held by the windows ending at the next run's first
-- entries too, so they can rarely be taken. The hosts' clocks never enter the decision; the
-- caller is told how long to wait and sleeps once. Cost: linear in the entries of a few
-- windows (see `reach` below).
--
-- The log's epoch. KEYS[3] names the log's lifetime: set (without TTL) by the first
-- reservation, it is gone only if Redis lost its data (a restart without persistence, a
-- flush, a failover to an empty replica). A caller passes the epoch it booked under; if that
-- differs, nothing is booked: the caller must first register the bookings it still holds
-- (restore.lua for those leaving now, this script with a floor for later ones), since
-- the log no longer counts them. An epoch that vanished under a caller who booked before
-- also holds new reservations `2 * width` (see docs/redis-faults.md): sends of the other
-- processes that left before they noticed are counted nowhere.
--
-- KEYS[1]  the log (sorted set)           KEYS[2]  pause-until instant (string, microseconds)
-- KEYS[3]  the log's epoch (string)
-- ARGV[1]  limit (units per window)       ARGV[2]  cost (units, 1..limit)
-- ARGV[3]  width: window + margin + slack (microseconds)
-- ARGV[4]  this reservation's member
-- ARGV[5]  gap: least microseconds between reservations at different instants (may be 0)
-- ARGV[6]  share: most reservations at one instant (1 or more)
-- ARGV[7]  the epoch the caller booked under ("": none yet, take the current one)
-- ARGV[8]  floor: no instant before this one (microseconds; 0: none)
-- ARGV[9]  optional: a reservation of the same units whose send came too late for its
--          instant while the quota was paused (else late.lua counts it from then). Its
--          units were not sent, so it is taken out of the log, and ARGV[4] is reserved.
-- Returns {delay, instant, epoch, 1} in microseconds; {0, 0, epoch, 0} if the epoch differs.

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME then write

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local log, member, stale = KEYS[1], ARGV[4], ARGV[9]
local limit, cost, width = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local gap, share, expected = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]

-- Lua turns numbers into "%.14g" strings, which would round a 16-digit instant.
local function int(x) return string.format('%.0f', x) end

local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = int(now)
  redis.call('SET', KEYS[3], epoch)
  if expected ~= '' then -- the log was lost under a caller that booked in it
    local hold = now + 2 * width
    if tonumber(redis.call('GET', KEYS[2]) or '0') < hold then
      redis.call('SET', KEYS[2], int(hold), 'PX', int(math.ceil(2 * width / 1000) + 1))
    end
  end
end
if expected ~= '' and expected ~= epoch then return {0, 0, epoch, 0} end

-- A retried call (the first reply was lost) gets the reservation it already made.
local booked = redis.call('ZSCORE', log, member)
if booked then
  local instant = tonumber(booked)
  return {math.max(instant - now, 0), instant, epoch, 1}
end

-- Entries at or before now - width can no longer share a window with any new instant.
redis.call('ZREMRANGEBYSCORE', log, '-inf', int(now - width))
if stale then redis.call('ZREM', log, stale) end

local start = math.max(now, tonumber(ARGV[8]))
local paused = redis.call('GET', KEYS[2])
if paused then start = math.max(start, tonumber(paused)) end

-- Entries with instants in (from, to], in time order: instants t[i], units u[i], before[i]
-- the units of t[1..i], and ending[i] the units of the window that ends at t[i] (exact for
-- entries at least `width` after `from`, the only ones whose windows are asked about).
local function read(from, to)
  local L = {t = {}, u = {}, before = {[0] = 0}, ending = {}, n = 0}
  local t, u, before, ending = L.t, L.u, L.before, L.ending
  local entries = redis.call('ZRANGEBYSCORE', log, '(' .. int(from), to, 'WITHSCORES')
  local n, oldest = 0, 1
  for i = 1, #entries, 2 do
    n = n + 1
    t[n] = tonumber(entries[i + 1])
    u[n] = tonumber(string.match(entries[i], ':(%d+)$'))
    before[n] = before[n - 1] + u[n]
    while t[oldest] <= t[n] - width do oldest = oldest + 1 end
    ending[n] = before[n] - before[oldest - 1]
  end
  L.n = n
  return L
end

-- Whether the units fit at `x`, given L.t[lo..mid], the entries in (x - width, x], and
-- L.t[mid+1..hi], those in (x, x + width).
local function fits(L, x, lo, mid, hi)
  local t, before, ending = L.t, L.before, L.ending
  if before[mid] - before[lo - 1] + cost > limit then return false end
  local same = 0
  for k = mid, lo, -1 do
    if t[k] == x then
      same = same + 1
    elseif x - t[k] < gap then
      return false
    else
      break
    end
  end
  if same >= share then return false end
  for k = mid + 1, hi do
    if t[k] - x < gap or ending[k] + cost > limit then return false end
  end
  return true
end

-- The earliest instant in [from, stop) where the units fit, or nil. `L` must hold every entry
-- within `width` of that span. Candidates, in ascending order: `from`, then where an entry
-- leaves the window (t + width) and where pacing lets a reservation follow an entry (t + gap,
-- 1 microsecond without pacing), merged; past the newest entry's, everything fits.
local after = math.max(gap, 1)
local function search(L, from, stop)
  local t, n = L.t, L.n
  local x, lo, mid, hi, i, j = from, 1, 0, 0, 1, 1
  while x < stop do
    while lo <= n and t[lo] <= x - width do lo = lo + 1 end
    while mid < n and t[mid + 1] <= x do mid = mid + 1 end
    while hi < n and t[hi + 1] < x + width do hi = hi + 1 end
    if fits(L, x, lo, mid, hi) then return x end
    while i <= n and t[i] + width <= x do i = i + 1 end
    while j <= n and t[j] + after <= x do j = j + 1 end
    x = math.min(t[i] and t[i] + width or math.huge, t[j] and t[j] + after or math.huge)
  end
  return nil
end

-- A long log (many requests waiting, in many processes) is searched near its two ends only,
-- so that a call costs what a few windows hold, not what the whole queue does: the next
-- `reach` after `start` (where given-back and late bookings leave room) and the last `reach`
-- before the newest entry (where a window's run of sends is still being filled), which
-- always has room past its end.
local reach = 2 * width
local newest = tonumber(redis.call('ZREVRANGE', log, 0, 0, 'WITHSCORES')[2])
local back = newest and newest - reach or start
local x
if back - width <= start + reach + width then
  x = search(read(start - width, '+inf'), start, math.huge)
else
  x = search(read(start - width, int(start + reach + width)), start, start + reach)
  if not x then x = search(read(back - width, '+inf'), back, math.huge) end
end
local last = math.max(x, newest or x)

redis.call('ZADD', log, int(x), member)
redis.call('PEXPIRE', log, int(math.ceil((last - now + width) / 1000) + 1))
return {x - now, x, epoch, 1}
