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
-- Lanes. A member ending in "b:<units>" is bulk (a fan-out), any other interactive. A bulk
-- reservation is placed as above, but alone at its instant, `units * width / limit` after
-- the bulk one before it and its own `cost * width / limit` before the next: bulk traffic
-- spread evenly frees units all through each window, where a burst would free them all at
-- once a window later. An interactive one goes before every
-- waiting bulk one: it takes the earliest instant where its units fit among the interactive
-- entries and the bulk ones due within `notice` (their processes could not hear of a move in
-- time), as if the bulk ones queued later were not there; those are then placed again in one
-- pass, in their order, each at the earliest instant from its own (and not before the one
-- ahead of it) where it fits, spread as above, until a whole `width` passes with none moved,
-- and the moves are published on the quota's channel as late.lua's are. So every window stays within `limit`, bulk keeps what
-- interactive leaves, and no queued bulk reservation is moved earlier. While it moves bulk
-- ones, interactive entries may hold at most `cap` units of any window (the rest is bulk's
-- share); where that does not fit, it is placed behind them, as without lanes.
--
-- KEYS[1]  the log (sorted set)           KEYS[2]  pause-until instant (string, microseconds)
-- KEYS[3]  the log's epoch (string)
-- ARGV[1]  limit (units per window)       ARGV[2]  cost (units, 1..limit)
-- ARGV[3]  width: window + margin + slack (microseconds)
-- ARGV[4]  this reservation's member ("<id>:<units>", or "<id>b:<units>" for bulk)
-- ARGV[5]  gap: least microseconds between reservations at different instants (may be 0)
-- ARGV[6]  share: most reservations at one instant (1 or more)
-- ARGV[7]  the epoch the caller booked under ("": none yet, take the current one)
-- ARGV[8]  floor: no instant before this one (microseconds; 0: none)
-- ARGV[9]  notice: bulk reservations due sooner than this (microseconds from now) stay put
-- ARGV[10] cap: most interactive units in a window while bulk ones are moved
-- ARGV[11] max wait: if the instant is further than this from now (microseconds), nothing
--          is booked or moved (-1: no bound)
-- ARGV[12] the quota's channel (moved bulk reservations are published there)
-- ARGV[13] optional: a reservation of the same units whose send came too late for its
--          instant while the quota was paused (else late.lua counts it from then). Its
--          units were not sent, so it is taken out of the log, and ARGV[4] is reserved.
-- Returns {delay, instant, epoch, 1, booked} in microseconds (booked 0: over the max wait,
-- nothing booked); {0, 0, epoch, 0, 0} if the epoch differs.

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME then write

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local log, member, stale = KEYS[1], ARGV[4], ARGV[13]
local limit, cost, width = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local gap, share, expected = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local notice, cap, maxwait = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])

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
if expected ~= '' and expected ~= epoch then return {0, 0, epoch, 0, 0} end

-- A retried call (the first reply was lost) gets the reservation it already made.
local booked = redis.call('ZSCORE', log, member)
if booked then
  local instant = tonumber(booked)
  return {math.max(instant - now, 0), instant, epoch, 1, 1}
end

-- Entries at or before now - width can no longer share a window with any new instant.
redis.call('ZREMRANGEBYSCORE', log, '-inf', int(now - width))
if stale then redis.call('ZREM', log, stale) end

local start = math.max(now, tonumber(ARGV[8]))
local paused = redis.call('GET', KEYS[2])
if paused then start = math.max(start, tonumber(paused)) end

local function units(name) return tonumber(string.match(name, ':(%d+)$')) end
-- Bulk members end in "b:<units>" (ids are decimal digits otherwise).
local function is_bulk(name) return string.find(name, 'b:%d+$') ~= nil end

-- Entries at instants t[1..n] (in time order) with units u[i], b[i] whether bulk: before[i]
-- the units of t[1..i], and ending[i] the units of the window that ends at t[i] (exact for
-- entries at least `width` after the first, the only ones whose windows are asked about).
local function build(t, u, b)
  local L = {t = t, u = u, b = b, before = {[0] = 0}, ending = {}, n = #t}
  local before, ending, oldest = L.before, L.ending, 1
  for n = 1, #t do
    before[n] = before[n - 1] + u[n]
    while t[oldest] <= t[n] - width do oldest = oldest + 1 end
    ending[n] = before[n] - before[oldest - 1]
  end
  return L
end

-- The entries with instants in (from, to]; `queued` notes a bulk one due after `notice`.
local queued = false
local function read(from, to)
  local entries = redis.call('ZRANGEBYSCORE', log, '(' .. int(from), to, 'WITHSCORES')
  local t, u, b = {}, {}, {}
  for i = 1, #entries, 2 do
    t[#t + 1] = tonumber(entries[i + 1])
    u[#u + 1] = units(entries[i])
    b[#b + 1] = is_bulk(entries[i])
    queued = queued or (b[#b] and t[#t] >= now + notice)
  end
  return build(t, u, b)
end

-- What a placement must respect: `cost` units, at most `limit` a window, `gap` apart, at
-- most `share` at one instant; a bulk one (`per` > 0) also `units * per` microseconds after
-- the bulk entry before it, and its own `cost * per` before the next (see Lanes).
local per = math.floor(width / limit)
local function placing(n, bulk)
  if bulk then return {cost = n, limit = limit, gap = gap, share = 1, per = per} end
  return {cost = n, limit = limit, gap = gap, share = share, per = 0}
end
local P = placing(cost, is_bulk(member))

-- Whether the units fit at `x`, given L.t[lo..mid], the entries in (x - width, x], and
-- L.t[mid+1..hi], those in (x, x + width).
local function fits(L, x, lo, mid, hi, p)
  local t, before, ending = L.t, L.before, L.ending
  if before[mid] - before[lo - 1] + p.cost > p.limit then return false end
  local same = 0
  for k = mid, lo, -1 do
    if t[k] == x then
      same = same + 1
    elseif x - t[k] < p.gap then
      return false
    else
      break
    end
  end
  if same >= p.share then return false end
  for k = mid + 1, hi do
    if t[k] - x < p.gap or ending[k] + p.cost > p.limit then return false end
  end
  if p.per > 0 then -- the nearest bulk entries on each side
    for k = mid, lo, -1 do
      if L.b[k] then
        if x - t[k] < L.u[k] * p.per then return false end
        break
      end
    end
    for k = mid + 1, hi do
      if L.b[k] then
        if t[k] - x < p.cost * p.per then return false end
        break
      end
    end
  end
  return true
end

-- The earliest instant in [from, stop) where the units fit, or nil. `L` must hold every entry
-- within `width` of that span. Candidates, in ascending order: `from`, then where an entry
-- leaves the window (t + width), where pacing lets a reservation follow an entry (t + gap,
-- 1 microsecond without pacing) and, for a bulk one, where a bulk entry's spread ends
-- (t + units * per), merged; past the newest entry's, everything fits.
local function search(L, from, stop, p)
  local t, n, after = L.t, L.n, math.max(p.gap, 1)
  local x, lo, mid, hi, i, j, m = from, 1, 0, 0, 1, 1, 1
  local spread = {}
  if p.per > 0 then
    local sorted = true
    for k = 1, n do
      if L.b[k] then
        local ends = t[k] + L.u[k] * p.per
        sorted = sorted and (spread[#spread] or ends) <= ends
        spread[#spread + 1] = ends
      end
    end
    if not sorted then table.sort(spread) end
  end
  while x < stop do
    while lo <= n and t[lo] <= x - width do lo = lo + 1 end
    while mid < n and t[mid + 1] <= x do mid = mid + 1 end
    while hi < n and t[hi + 1] < x + width do hi = hi + 1 end
    if fits(L, x, lo, mid, hi, p) then return x end
    while i <= n and t[i] + width <= x do i = i + 1 end
    while j <= n and t[j] + after <= x do j = j + 1 end
    while spread[m] and spread[m] <= x do m = m + 1 end
    x = math.min(t[i] and t[i] + width or math.huge, t[j] and t[j] + after or math.huge,
                 spread[m] or math.huge)
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
  x = search(read(start - width, '+inf'), start, math.huge, P)
else
  x = search(read(start - width, int(start + reach + width)), start, start + reach, P)
  if not x then x = search(read(back - width, '+inf'), back, math.huge, P) end
end

local function insert(t, u, b, x, n, bulk) -- `n` units at `x`, in time order
  local at = #t + 1
  while at > 1 and t[at - 1] > x do at = at - 1 end
  table.insert(t, at, x)
  table.insert(u, at, n)
  table.insert(b, at, bulk)
end

-- The first index of the time-ordered `t` whose instant is after `x` (#t + 1 if none).
local function after_index(t, x)
  local lo, hi = 1, #t + 1
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if t[mid] > x then hi = mid else lo = mid + 1 end
  end
  return lo
end

-- The bulk reservations `waiting` ({instant, units, member}, in time order) placed again
-- behind the `fixed` entries (ft, fu, fb: instants, units, whether bulk; in time order),
-- in their order, each at the earliest instant from its own where it fits: in the window
-- ending there and in those ending at the fixed entries after it, paced `gap` apart, alone
-- at its instant and spread from its bulk neighbours (see `placing`). One pass in time
-- order (the entries placed so far only grow at the end), until a whole `width` passes with
-- none moved (`quiet`, from `quiet0`). Returns the moves: {member, instant, ...}.
local function walk(ft, fu, fb, waiting, quiet0)
  local fp = {[0] = 0} -- units of the fixed entries up to each
  for k = 1, #ft do fp[k] = fp[k - 1] + fu[k] end
  local et, eu, ep = {}, {}, {[0] = 0} -- entries placed so far (fixed or moved), in time order
  local nf, bulk_t, bulk_u = 1, nil, 0 -- the next fixed entry; the last placed bulk one
  local function emit(t, u, b)
    et[#et + 1], eu[#eu + 1], ep[#ep + 1] = t, u, ep[#ep] + u
    if b then bulk_t, bulk_u = t, u end
  end
  local function placed_in(from, to) -- units placed in (from, to]; none lie after `to`
    return ep[#ep] - ep[after_index(et, from) - 1]
  end
  local quiet, moved, last = quiet0, {}, -math.huge
  for k = 1, #waiting do
    local t, u, name = waiting[k][1], waiting[k][2], waiting[k][3]
    if t >= quiet and t >= last then break end -- from here on, every window is as it was
    local y, settled = math.max(t, last), false
    while not settled do
      while nf <= #ft and ft[nf] <= y do emit(ft[nf], fu[nf], fb[nf]); nf = nf + 1 end
      settled = true
      local here = placed_in(y - width, y)
      local oldest = after_index(et, y - width)
      while here + u > limit do -- wait for the oldest units in the window to leave it
        y, here, oldest = et[oldest] + width, here - eu[oldest], oldest + 1
        settled = false
      end
      local prev = et[#et]
      if settled and prev and (prev == y or y - prev < gap) then
        y, settled = math.max(prev + gap, prev + 1), false
      elseif settled and bulk_t and y - bulk_t < bulk_u * per then
        y, settled = bulk_t + bulk_u * per, false
      end
      for j = nf, #ft do -- the fixed entries ahead: their windows, pacing and spread
        local f = ft[j]
        if not settled or f >= y + width then break end
        local ending = placed_in(f - width, y) + u + fp[j] - fp[nf - 1]
        if ending > limit or f - y < gap or (fb[j] and f - y < u * per) then
          y, settled = f, false -- no instant before it will do: after it, then
        end
      end
    end
    emit(y, u, true)
    last = y
    if y ~= t then
      moved[#moved + 1] = name
      moved[#moved + 1] = int(y)
      quiet = math.max(quiet, y + width)
    end
  end
  return moved
end

-- An interactive reservation before the bulk ones queued after `notice` (see Lanes): its
-- instant, if earlier than `placed` (where it fits among them all), and the bulk ones moved
-- ({member, instant, ...}).
local function ahead_of_bulk(placed)
  -- Two widths back: a bulk reservation placed again shares windows with those before it.
  local entries = redis.call('ZRANGEBYSCORE', log, '(' .. int(start - 2 * width), '+inf',
                             'WITHSCORES')
  local ft, fu, fb, it, iu, ib, waiting = {}, {}, {}, {}, {}, {}, {}
  for i = 1, #entries, 2 do
    local name, t = entries[i], tonumber(entries[i + 1])
    local u, b = units(name), is_bulk(name)
    if not b then
      it[#it + 1], iu[#iu + 1], ib[#ib + 1] = t, u, b
    end
    if not b or t < now + notice or t <= start - width then
      ft[#ft + 1], fu[#fu + 1], fb[#fb + 1] = t, u, b
    else
      waiting[#waiting + 1] = {t, u, name}
    end
  end
  if #waiting == 0 then return placed, {} end
  local fixed, interactive = build(ft, fu, fb), build(it, iu, ib)
  local capped = {cost = cost, limit = cap, gap = 0, share = math.huge, per = 0}
  local x, from = nil, start
  while x == nil do -- the earliest instant that both the window and the cap allow
    local fit = search(fixed, from, math.huge, P)
    local under = search(interactive, fit, math.huge, capped)
    if under == fit then x = fit else from = under end
  end
  if x >= placed then return placed, {} end
  insert(ft, fu, fb, x, cost, false)
  return x, walk(ft, fu, fb, waiting, x + width)
end

local moved = {}
-- Only where a bulk reservation is queued (in a long log: near one of its ends, where a
-- fan-out books), so that interactive traffic alone costs what it did without lanes.
if cost <= cap and not is_bulk(member) and queued then
  x, moved = ahead_of_bulk(x)
end
if maxwait >= 0 and x - now > maxwait then return {x - now, x, epoch, 1, 0} end

redis.call('ZADD', log, int(x), member)
for i = 1, #moved, 2 do redis.call('ZADD', log, moved[i + 1], moved[i]) end
if #moved > 0 then redis.call('PUBLISH', ARGV[12], table.concat(moved, ' ')) end
local last = math.max(x, tonumber(redis.call('ZREVRANGE', log, 0, 0, 'WITHSCORES')[2]))
redis.call('PEXPIRE', log, int(math.ceil((last - now + width) / 1000) + 1))
return {x - now, x, epoch, 1, 1}
