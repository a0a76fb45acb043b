-- A send was written after its instant plus slack: count its units from when it was
-- written, and name the bookings this crowds (rongpub RedisLimiter).
--
-- Bookings placed after the late one took the units it frees a `width` after its instant.
-- Counted from its write, its units still fill the windows ending in [instant + width,
-- written + width). A booking there leaves at least `window + margin` after the write, so
-- that pair is safe, if it lies `span` (= window + margin) or more after the write; one
-- earlier may leave a window over `limit`. This re-dates the late entry to the write and
-- walks the entries of the span in time order, keeping a window's sum without the entries
-- already named: an entry before written + span whose window would go over `limit` is
-- named, and the names are published in one message to the quota's channel. A process that
-- holds a named booking books again before its instant (`_redis_revocations`); the named
-- entries stay in the log until then, so a holder that missed the message sends on a
-- booking that is still counted, never on room given to somebody else.
--
-- KEYS[1]  the log (sorted set; see _redis_reserve.lua)
-- ARGV[1]  limit (units per window)       ARGV[2]  width: window + margin + slack (microseconds)
-- ARGV[3]  the late entry's member        ARGV[4]  the quota's channel
-- ARGV[5]  when it was written (Redis time, microseconds; never before the true instant)
-- ARGV[6]  span: window + margin (microseconds)
-- Returns the number of entries named.

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME then write

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local log, limit, width, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local span = tonumber(ARGV[6])

local function int(x) return string.format('%.0f', x) end

-- An entry that already expired (the send stalled for over a window) counts as if it had
-- been booked a width ago: every window ending from now on holds it again.
local booked = tonumber(redis.call('ZSCORE', log, member) or (now - width))
local written = math.min(tonumber(ARGV[5]), now)
if written <= booked then return 0 end
redis.call('ZADD', log, int(written), member)
if redis.call('PTTL', log) < width / 1000 then
  redis.call('PEXPIRE', log, int(math.ceil(width / 1000) + 1))
end

local entries = redis.call('ZRANGEBYSCORE', log, '(' .. int(booked), '(' .. int(written + span),
  'WITHSCORES')
local t, u, kept, named = {}, {}, {}, {}
local oldest, sum = 1, 0
for i = 1, #entries / 2 do
  t[i] = tonumber(entries[2 * i])
  u[i] = tonumber(string.match(entries[2 * i - 1], ':(%d+)$'))
  while t[oldest] <= t[i] - width do
    if kept[oldest] then sum = sum - u[oldest] end
    oldest = oldest + 1
  end
  if t[i] >= booked + width and sum + u[i] > limit then
    named[#named + 1] = entries[2 * i - 1]
  else
    kept[i], sum = true, sum + u[i]
  end
end
if #named > 0 then redis.call('PUBLISH', ARGV[4], table.concat(named, ' ')) end
return #named
