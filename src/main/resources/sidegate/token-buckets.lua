-- Sidegate token buckets: check and take one token from every bucket of a request, atomically.
-- KEYS[i]: bucket keys (all share one hash tag, so one Cluster slot)
-- ARGV: for each bucket, three values: capacity, refill rate in tokens per microsecond, TTL in milliseconds
-- Returns: { allowed (1|0), then per bucket: remaining whole tokens, microseconds until one token is available }
-- Time is Redis' own clock (TIME), never the callers'; a stored timestamp never moves backwards.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS
local tokens = {}
local stamps = {}
local allowed = 1
for i = 1, n do
  local capacity = tonumber(ARGV[(i - 1) * 3 + 1])
  local rate = tonumber(ARGV[(i - 1) * 3 + 2])
  local state = redis.call('HMGET', KEYS[i], 't', 'ts')
  local tok = tonumber(state[1])
  local ts = tonumber(state[2])
  if tok == nil or ts == nil then
    tok = capacity
    ts = now
  elseif now > ts then
    tok = math.min(capacity, tok + (now - ts) * rate)
    ts = now
  end
  if tok > capacity then
    tok = capacity
  end
  tokens[i] = tok
  stamps[i] = ts
  if tok < 1 then
    allowed = 0
  end
end
local result = { allowed }
for i = 1, n do
  local rate = tonumber(ARGV[(i - 1) * 3 + 2])
  local ttl = tonumber(ARGV[(i - 1) * 3 + 3])
  local tok = tokens[i]
  if allowed == 1 then
    tok = tok - 1
    redis.call('HSET', KEYS[i], 't', string.format('%.17g', tok), 'ts', string.format('%d', stamps[i]))
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  result[#result + 1] = math.floor(tok)
  if tok >= 1 then
    result[#result + 1] = 0
  else
    result[#result + 1] = math.ceil((1 - tok) / rate)
  end
end
return result
