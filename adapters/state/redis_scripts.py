"""The Lua scripts of the Redis state store. Each runs atomically on Redis's own clock (TIME),
so every replica sharing the store sees one sliding minute and one budget period. A request's
operations (admit, tokens, settle) run in ``BATCH``, many requests' at once.

Keys (``P`` is the store's prefix, ``N`` the gateway key's name): ``P rpm:N`` (sorted set of
request tickets by arrival, ms), ``P conc:N`` (sorted set of tickets in flight by start, s),
``P tpm:N`` (hash: second -> tokens), ``P use:N:<period>:<index>`` (hash: requests,
input_tokens, output_tokens, spend_usd).
"""

from __future__ import annotations

# The index of the budget period holding ``sec`` (domain/policy/periods.py, in Lua): days,
# Monday weeks, months since 1970 (Howard Hinnant's civil_from_days), 0 for total.
PERIOD_INDEX = """
local function period_index(period, sec)
  local days = math.floor(sec / 86400)
  if period == 'day' then return days end
  if period == 'week' then return math.floor((days + 3) / 7) end
  if period == 'month' then
    local z = days + 719468
    local era = math.floor(z / 146097)
    local doe = z - era * 146097
    local yoe = math.floor(
      (doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
    local y = yoe + era * 400
    local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
    local mp = math.floor((5 * doy + 2) / 153)
    local m = mp < 10 and mp + 3 or mp - 9
    if m <= 2 then y = y + 1 end
    return (y - 1970) * 12 + m - 1
  end
  return 0
end
"""

# The three operations of a request, each a Lua function over the keys ``KEYS[k..]`` and the
# arguments ``op[2..]`` (``op[1]`` is its name), on the clock of the script (sec, now in s,
# nowms in ms).
#
# admit: KEYS rpm, conc. op: usage key prefix ("P use:N:"), rpm (0: none), concurrent (0: none),
# budget usd (-1: none), period, ticket, seconds after which a slot is taken for leaked.
# Returns {refused or '', retry_after, requests_remaining (-1: none), requests_reset, spend, now}.
ADMIT = """
local function admit(k, op, sec, now, nowms)
  local spend = 0
  local budget = tonumber(op[5])
  if budget >= 0 then
    local period = op[6]
    local usage = op[2] .. period .. ':' .. period_index(period, sec)
    spend = tonumber(redis.call('HGET', usage, 'spend_usd') or '0')
    if spend >= budget then
      return {'budget', '0', '-1', '0', tostring(spend), tostring(now)}
    end
  end
  local rpm = tonumber(op[3])
  if rpm > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', nowms - 60000)
    if redis.call('ZCARD', KEYS[k]) >= rpm then
      local oldest = redis.call('ZRANGE', KEYS[k], 0, 0, 'WITHSCORES')
      local retry = (tonumber(oldest[2]) + 60000 - nowms) / 1000
      return {'rpm', tostring(retry), '0', tostring(retry), tostring(spend), tostring(now)}
    end
  end
  local concurrent = tonumber(op[4])
  if concurrent > 0 then
    local stale = tonumber(op[8])
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 1], '-inf', now - stale)
    if redis.call('ZCARD', KEYS[k + 1]) >= concurrent then
      return {'concurrent', '1', '-1', '0', tostring(spend), tostring(now)}
    end
    redis.call('ZADD', KEYS[k + 1], now, op[7])
    redis.call('EXPIRE', KEYS[k + 1], stale)
  end
  local remaining = -1
  local reset = 0
  if rpm > 0 then
    redis.call('ZADD', KEYS[k], nowms, op[7])
    redis.call('PEXPIRE', KEYS[k], 61000)
    remaining = rpm - redis.call('ZCARD', KEYS[k])
    local oldest = redis.call('ZRANGE', KEYS[k], 0, 0, 'WITHSCORES')
    reset = (tonumber(oldest[2]) + 60000 - nowms) / 1000
  end
  return {'', '0', tostring(remaining), tostring(reset), tostring(spend), tostring(now)}
end
"""

# tokens: KEYS tpm. op: tpm, tokens. Returns {refused 0/1, retry_after, remaining, reset, second}.
TOKENS = """
local function tokens(k, op, sec, now)
  local all = redis.call('HGETALL', KEYS[k])
  local used = 0
  local oldest = nil
  for i = 1, #all, 2 do
    local s = tonumber(all[i])
    if s <= sec - 60 then
      redis.call('HDEL', KEYS[k], all[i])
    else
      used = used + tonumber(all[i + 1])
      if oldest == nil or s < oldest then oldest = s end
    end
  end
  local tpm = tonumber(op[2])
  local count = tonumber(op[3])
  if used > 0 and used + count > tpm then
    local retry = oldest + 60 - now
    return {1, tostring(retry), math.max(tpm - used, 0), tostring(retry), sec}
  end
  redis.call('HINCRBY', KEYS[k], sec, count)
  redis.call('EXPIRE', KEYS[k], 61)
  if oldest == nil then oldest = sec end
  return {0, '0', math.max(tpm - used - count, 0), tostring(oldest + 60 - now), sec}
end
"""

# settle: KEYS conc, tpm. op: usage key prefix, period, ticket ('' : none), tpm second (-1: none),
# estimated tokens, input tokens, output tokens, cost usd. Returns 1.
SETTLE = """
local function settle(k, op, sec)
  if op[4] ~= '' then redis.call('ZREM', KEYS[k], op[4]) end
  local inp = tonumber(op[7])
  local out = tonumber(op[8])
  local at = tonumber(op[5])
  if at >= 0 then
    if at > sec - 60 then
      redis.call('HINCRBY', KEYS[k + 1], at, inp + out - tonumber(op[6]))
    else
      redis.call('HINCRBY', KEYS[k + 1], sec, inp + out)
    end
    redis.call('EXPIRE', KEYS[k + 1], 61)
  end
  local period = op[3]
  local key = op[2] .. period .. ':' .. period_index(period, sec)
  redis.call('HINCRBY', key, 'requests', 1)
  if inp > 0 then redis.call('HINCRBY', key, 'input_tokens', inp) end
  if out > 0 then redis.call('HINCRBY', key, 'output_tokens', out) end
  if tonumber(op[9]) > 0 then redis.call('HINCRBYFLOAT', key, 'spend_usd', op[9]) end
  if period ~= 'total' then redis.call('EXPIRE', key, 8640000) end
  return 1
end
"""

# Any number of operations, run in order in one atomic script on one reading of the clock:
# ARGV[1] is the JSON array of the operations (each an array: its name, then its arguments), and
# KEYS their keys, one operation's after the other's. Returns the JSON array of their results.
# (Concurrent requests' operations go to Redis together: ``redis_batch.py``. JSON both ways
# costs the client one argument and one reply per batch, however many operations it holds.)
BATCH = PERIOD_INDEX + ADMIT + TOKENS + SETTLE + """
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec + tonumber(t[2]) / 1000000
local nowms = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local ops = cjson.decode(ARGV[1])
local results = {}
local k = 1
for i = 1, #ops do
  local op = ops[i]
  local name = op[1]
  if name == 'admit' then
    results[i] = admit(k, op, sec, now, nowms)
    k = k + 2
  elseif name == 'tokens' then
    results[i] = tokens(k, op, sec, now)
    k = k + 1
  elseif name == 'settle' then
    results[i] = settle(k, op, sec)
    k = k + 2
  else
    return redis.error_reply('unknown operation ' .. tostring(name))
  end
end
return cjson.encode(results)
"""

# KEYS: rpm, conc, tpm. ARGV: usage key prefix, period. Returns the usage hash's fields, the
# slots in flight, and the minute's requests and tokens.
USAGE = PERIOD_INDEX + """
local t = redis.call('TIME')
local sec = tonumber(t[1])
local nowms = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = ARGV[2]
local key = ARGV[1] .. period .. ':' .. period_index(period, sec)
local fields = redis.call('HMGET', key, 'requests', 'input_tokens', 'output_tokens', 'spend_usd')
local tokens = 0
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  if tonumber(all[i]) > sec - 60 then tokens = tokens + tonumber(all[i + 1]) end
end
return {fields[1] or '0', fields[2] or '0', fields[3] or '0', fields[4] or '0',
        redis.call('ZCARD', KEYS[2]), redis.call('ZCOUNT', KEYS[1], nowms - 60000 + 1, '+inf'), tokens}
"""
