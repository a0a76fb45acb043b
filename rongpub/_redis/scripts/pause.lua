-- Hold every new reservation of one quota until now + ARGV[1] microseconds (rongpub).
--
-- KEYS[1]  pause-until instant (microseconds, Redis TIME); a longer pause already set wins.
-- ARGV[1]  pause length (microseconds)
-- Returns {remaining, until} in microseconds.

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME then write

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local untl = math.max(now + tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[1]) or '0'))

redis.call('SET', KEYS[1], string.format('%.0f', untl),
           'PX', string.format('%.0f', math.ceil((untl - now) / 1000) + 1))
return {untl - now, untl}
