-- A send left or is leaving after its instant plus slack: count its units from when it
-- leaves, and move the bookings this crowds later, in order (rongpub RedisLimiter).
--
-- Every entry of the log stands for units that leave within `slack` after its instant, so
-- a late send already written at `written` is re-dated to `written - slack` (never before its
-- instant, since it was later than the slack), and one about to leave (it woke too late for
-- its instant) to now, unless the quota is paused: then nothing changes, and it books again. Bookings placed after it took the units it
-- freed a `width` after its old instant; counted from now on, they may leave a window over
-- `limit`. So the entries after it are walked in time order, as the in-process limiter would
-- have released them: each keeps its instant if its units fit there (the window ending at it,
-- over the entries already walked, stays within `limit`), else it moves to the earliest
-- instant where they do, and no entry moves before one walked earlier (the order of the log
-- stays as it was; pacing and sharing, which smooth bursts, are not kept for moved entries).
-- A move of `d` moves the entries that took the moved one's units by up to
-- `d` as well, so the walk goes on until a whole `width` passes with no move; in a full queue
-- that is its whole length (one call per late write, linear in the entries ahead). The moves
-- are published in one message to the quota's channel, and each process waits for the new
-- instant of the bookings it holds (`_redis.moves`). A process that missed the message
-- leaves on the old instant, where the log counted it until now: a window may then hold one
-- booking too many (the server may answer 429, which pauses the quota and is retried).
--
-- KEYS[1]  the log (sorted set; see reserve.lua)   KEYS[2]  pause-until instant
-- ARGV[1]  limit (units per window)       ARGV[2]  width: window + margin + slack (microseconds)
-- ARGV[3]  the late entry's member        ARGV[4]  the quota's channel
-- ARGV[5]  when it was written (Redis time, microseconds; never before the true instant), or
--          "now" for a send about to leave
-- ARGV[6]  slack (microseconds)
-- Returns {bookings moved, the late entry's instant, now}; {-1, 0, now} if paused.

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME then write

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local log, limit, width, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local slack = tonumber(ARGV[6])

local function int(x) return string.format('%.0f', x) end

-- An entry that already expired (the send stalled for over a window) counts as if it had
-- been booked a width ago.
local booked = tonumber(redis.call('ZSCORE', log, member) or (now - width))
local dated
if ARGV[5] == 'now' then
  if tonumber(redis.call('GET', KEYS[2]) or 0) > now then return {-1, 0, now} end
  dated = now
else
  dated = math.min(tonumber(ARGV[5]), now) - slack
end
if dated <= booked then return {0, booked, now} end
redis.call('ZADD', log, int(dated), member)

-- The windows ending at `dated` or later now hold it, and so do those ending from `booked +
-- width` (which did not before) if the send was over a width late. Walk the entries from the
-- earlier of the two, the late one first (it has left, so it stays: those walked go after
-- it), with those of the width before already in the window's sum.
local start = math.min(dated, booked + width)
local entries = redis.call('ZRANGEBYSCORE', log, '(' .. int(start - width), '+inf', 'WITHSCORES')
local at, units, sum, oldest, n = {}, {}, 0, 1, 0
local last, moved = dated, {} -- last: the latest instant walked so far
local quiet = dated + width -- the walk ends at the first entry past this with no move since
local function add(x, u)
  n = n + 1
  at[n], units[n], sum = x, u, sum + u
end
local placed = false
for i = 1, #entries / 2 do
  local name, t = entries[2 * i - 1], tonumber(entries[2 * i])
  local u = tonumber(string.match(name, ':(%d+)$'))
  if name == member then
    -- counted when the walk starts
  elseif t < start then
    add(t, u)
  else
    if not placed then
      add(dated, tonumber(string.match(member, ':(%d+)$')))
      placed = true
    end
    if t >= quiet then break end
    local x = math.max(t, last)
    while oldest <= n and at[oldest] <= x - width do
      sum, oldest = sum - units[oldest], oldest + 1
    end
    while sum + u > limit do -- wait for the oldest units in the window to leave it
      x = math.max(x, at[oldest] + width)
      sum, oldest = sum - units[oldest], oldest + 1
    end
    if x ~= t then
      moved[#moved + 1] = name
      moved[#moved + 1] = int(x)
      redis.call('ZADD', log, int(x), name)
      quiet = math.max(quiet, x + width)
    end
    last = x
    add(x, u)
  end
end
if #moved > 0 then
  redis.call('PUBLISH', ARGV[4], table.concat(moved, ' '))
end
local newest = tonumber(redis.call('ZREVRANGE', log, 0, 0, 'WITHSCORES')[2])
local ttl = math.ceil((newest - now + width) / 1000) + 1
if redis.call('PTTL', log) < ttl then redis.call('PEXPIRE', log, ttl) end
return {#moved / 2, dated, now}
