-- The wrk script of bench/workload/run.sh: a mix of popi's routes for several tenants and users,
-- at a steady rate (delay() per connection) or closed loop, with per-route latency histograms and
-- status counts. Read bench/workload/README.md; run.sh sets everything below through WL_*.
--
-- Run with one connection per thread (wrk -t N -c N): each thread's request() and response()
-- then alternate, so the thread knows which route every response belongs to and how long it took
-- (CLOCK_MONOTONIC through LuaJIT's ffi). Each thread counts into flat tables (wrk's thread:get
-- copies a table of strings and numbers; nested tables crash wrk 4.1), merged in done().
--
-- Environment:
--   WL_KEYS_FILE    lines "TENANT<TAB>KEY", one per tenant (run.sh writes it)
--   WL_USERS        users per tenant; user ids are WL_USER_PREFIX001, 002, ... in every tenant
--   WL_RATE         requests/s over all connections, steady; 0: closed loop (no delay)
--   WL_CONNECTIONS  connections (= wrk threads), to share the rate out
--   WL_MIX          route weights, "feedback:25,summary:60,refresh:3,generate:6,chat:6"
--   WL_GEN_TOKENS   max_tokens of generations and chat completions
--   WL_RUN_ID       unique per run: feedback idempotency ids and request ids carry it
--   WL_OUT          the JSON result file;  WL_URL, WL_DURATION: copied into it

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } wl_timespec;
int clock_gettime(int clock_id, wl_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("wl_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

-- Latency buckets: 25 per decade from 10 µs (each ~9.6% wide; a percentile is the bucket's
-- geometric middle, within ~5% of the true value, clamped to the exact min and max).
local BASE_MS, PER_DECADE = 0.01, 25
local LOG_RATIO = math.log(10) / PER_DECADE
local function bucket_of(ms)
  if ms <= BASE_MS then return 0 end
  return math.ceil(math.log(ms / BASE_MS) / LOG_RATIO)
end
local function bucket_mid(i)
  if i == 0 then return BASE_MS end
  return BASE_MS * math.exp((i - 0.5) * LOG_RATIO)
end

local ROUTES = { "feedback", "summary", "refresh", "generate", "chat" }
local ROUTE_NAMES = {
  feedback = "POST /v1/users/{id}/feedback",
  summary = "GET /v1/users/{id}/summary",
  refresh = "POST /v1/users/{id}/summary/refresh",
  generate = "POST /v1/users/{id}/generate",
  chat = "POST /v1/chat/completions",
}

local function parse_mix(text)
  local mix, total = {}, 0
  for name, weight in string.gmatch(text, "([%a_]+)[:=]([%d.]+)") do
    if ROUTE_NAMES[name] == nil then error("WL_MIX: unknown route " .. name) end
    mix[name] = tonumber(weight)
    total = total + mix[name]
  end
  if total <= 0 then error("WL_MIX: no route has a weight: " .. text) end
  return mix, total
end

local MIX_TEXT = env("WL_MIX", "feedback:25,summary:60,refresh:3,generate:6,chat:6")
local RATE = tonumber(env("WL_RATE", "0"))
local CONNECTIONS = tonumber(env("WL_CONNECTIONS", "1"))

-- wrk calls delay() before every request when the script defines it: only in rate mode.
if RATE > 0 then
  function delay()
    local t = now()
    if next_t == nil then next_t = t + start_offset end
    local wait = next_t - t
    if wait < -interval then
      -- More than one slot behind (slow answers): the missed slots are dropped and counted rather
      -- than sent in a burst, so the offered rate stays steady.
      local missed = math.floor(-wait / interval)
      flat.missed = flat.missed + missed
      next_t = t
      wait = 0
    end
    next_t = next_t + interval
    if wait < 0 then wait = 0 end
    return math.floor(wait * 1000 + 0.5)
  end
end

-- ---- main state: one thread object per connection ----------------------------------------------

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- ---- thread state -------------------------------------------------------------------------------

function init(args)
  flat = { missed = 0 }
  seq = 0
  pending = nil -- { route, t0 } of the request sent and not answered yet
  -- wrk calls request() once on the first thread before it runs (script_verify_request, to count
  -- pipelined requests): that request is never sent, so it is not counted.
  verifying = (tid == 1)
  etags = {}
  run_id = env("WL_RUN_ID", "wl")
  users = tonumber(env("WL_USERS", "8"))
  user_prefix = env("WL_USER_PREFIX", "wl-user-")
  gen_tokens = tonumber(env("WL_GEN_TOKENS", "12"))
  keys = {}
  local file = assert(io.open(env("WL_KEYS_FILE", "keys.tsv"), "r"))
  for line in file:lines() do
    local tenant, key = string.match(line, "^(%S+)\t(%S+)$")
    if tenant then table.insert(keys, key) end
  end
  file:close()
  if #keys == 0 then error("WL_KEYS_FILE holds no key") end
  local mix, total = parse_mix(MIX_TEXT)
  cumulative = {}
  local acc = 0
  for _, route in ipairs(ROUTES) do
    if mix[route] and mix[route] > 0 then
      acc = acc + mix[route] / total
      table.insert(cumulative, { route, acc })
    end
  end
  -- The (tenant, user) pairs this connection plays, as one client session per user: pair i goes
  -- to connection i mod C, so each user's ETag is known to the one connection reading it. With
  -- fewer pairs than connections, connections share pairs.
  mine = {}
  local all = #keys * users
  for i = 0, all - 1 do
    if (all >= CONNECTIONS and i % CONNECTIONS == tid - 1) or (all < CONNECTIONS and i == (tid - 1) % all) then
      table.insert(mine, { math.floor(i / users) + 1, i % users + 1 })
    end
  end
  math.randomseed(tid * 7919 + os.time())
  if RATE > 0 then
    interval = CONNECTIONS / RATE
    -- Connections start spread over one interval, not all at once.
    start_offset = (tid - 1) / RATE
  end
end

local function pick_route()
  local r = math.random()
  for _, entry in ipairs(cumulative) do
    if r <= entry[2] then return entry[1] end
  end
  return cumulative[#cumulative][1]
end

local function count(name, n)
  flat[name] = (flat[name] or 0) + (n or 1)
end

local function record(route, status, ms)
  count("s|" .. route .. "|" .. status)
  if ms ~= nil then
    count("n|" .. route)
    count("h|" .. route .. "|" .. bucket_of(ms))
    count("sum|" .. route, ms)
    local mx = flat["max|" .. route]
    if mx == nil or ms > mx then flat["max|" .. route] = ms end
    local mn = flat["min|" .. route]
    if mn == nil or ms < mn then flat["min|" .. route] = ms end
  end
end

local function feedback_body(user)
  local events = {}
  local pairs_n = math.random(1, 3)
  for k = 1, pairs_n do
    local q = math.random(1, 500)
    table.insert(events, string.format(
      '{"id":"%s-%d-%d-%d","kind":"pair","prompt":"Workload question %d?",' ..
      '"chosen":"First reply to question %d, variant %d.",' ..
      '"rejected":"Second reply to question %d, variant %d, worded another way."}',
      run_id, tid, seq, k, q, q, math.random(1, 9), q, math.random(1, 9)))
  end
  if math.random() < 0.5 then
    table.insert(events, string.format(
      '{"id":"%s-%d-%d-s","kind":"statement","text":"Synthetic workload note %d for %s."}',
      run_id, tid, seq, math.random(1, 1000), user))
  end
  return '{"events":[' .. table.concat(events, ",") .. "]}"
end

function request()
  if pending ~= nil then
    -- The previous request got no answer (wrk reconnected after a socket error): status 0.
    record(pending[1], 0, nil)
    pending = nil
  end
  seq = seq + 1
  local route = pick_route()
  local pair = mine[math.random(1, #mine)]
  local tenant = pair[1]
  local user = string.format("%s%03d", user_prefix, pair[2])
  local headers = {
    ["Authorization"] = "Bearer " .. keys[tenant],
    ["X-Request-Id"] = string.format("%s-%d-%d", run_id, tid, seq),
  }
  local method, path, body = "POST", "/v1/users/" .. user, nil
  local topic = math.random(1, 200)
  if route == "feedback" then
    path = path .. "/feedback"
    body = feedback_body(user)
  elseif route == "summary" then
    method, path = "GET", path .. "/summary"
    current_etag_key = tenant .. "|" .. user
    local tag = etags[current_etag_key]
    if tag then headers["If-None-Match"] = tag end
  elseif route == "refresh" then
    path = path .. "/summary/refresh"
    body = ""
  elseif route == "generate" then
    path = path .. "/generate"
    body = string.format('{"prompt":"Say one thing about topic %d.","max_tokens":%d,"temperature":0.7}',
      topic, gen_tokens)
  else
    path = "/v1/chat/completions"
    body = string.format('{"model":"popi-local","user":"%s","max_tokens":%d,"temperature":0.7,' ..
      '"messages":[{"role":"user","content":"Say one thing about topic %d."}]}', user, gen_tokens, topic)
  end
  if body ~= nil and body ~= "" then headers["Content-Type"] = "application/json" end
  if verifying then
    verifying = false
  else
    count("sent|" .. route)
    pending = { route, now() }
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  local t1 = now()
  if pending == nil then return end
  local route, t0 = pending[1], pending[2]
  pending = nil
  record(route, status, (t1 - t0) * 1000)
  if route == "summary" and (status == 200 or status == 304) then
    local tag = headers["ETag"] or headers["etag"] or headers["Etag"]
    if tag then etags[current_etag_key] = tag end
  end
end

-- ---- main state: merge, print, write JSON ---------------------------------------------------------

local function percentile(hist, n, p, mn, mx)
  local want = math.max(1, math.ceil(p * n))
  local idx = {}
  for i in pairs(hist) do table.insert(idx, i) end
  table.sort(idx)
  local acc = 0
  for _, i in ipairs(idx) do
    acc = acc + hist[i]
    if acc >= want then
      local v = bucket_mid(i)
      if v < mn then v = mn end
      if v > mx then v = mx end
      return v
    end
  end
  return mx
end

local function json_string(s)
  return '"' .. string.gsub(tostring(s), '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

local function json_number(x)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then return "null" end
  if x == math.floor(x) and math.abs(x) < 1e15 then return string.format("%d", x) end
  return string.format("%.3f", x)
end

-- A success: 2xx, or 304 (the summary read's If-None-Match matched).
local function is_error(status)
  return not ((status >= 200 and status < 300) or status == 304)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local merged = {}
  local unanswered_at_end = {}
  for _, thread in ipairs(threads) do
    local f = thread:get("flat")
    for k, v in pairs(f) do
      if string.sub(k, 1, 4) == "max|" then
        if merged[k] == nil or v > merged[k] then merged[k] = v end
      elseif string.sub(k, 1, 4) == "min|" then
        if merged[k] == nil or v < merged[k] then merged[k] = v end
      else
        merged[k] = (merged[k] or 0) + v
      end
    end
    local p = thread:get("pending")
    -- pending is a table; wrk copies it flat ({route, t0}).
    if type(p) == "table" and p[1] then
      unanswered_at_end[p[1]] = (unanswered_at_end[p[1]] or 0) + 1
    end
  end

  local out = {}
  local total_n, total_err, total_sent, total_inflight = 0, 0, 0, 0
  local lines = {}
  table.insert(lines, string.format("%-9s %-36s %8s %8s %9s %9s %9s %9s %7s  %s",
    "route", "", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "statuses"))
  local route_json = {}
  for _, route in ipairs(ROUTES) do
    local n = merged["n|" .. route] or 0
    local sent = merged["sent|" .. route] or 0
    local inflight = unanswered_at_end[route] or 0
    local statuses, codes = {}, {}
    local errors = 0
    for k, v in pairs(merged) do
      local r, code = string.match(k, "^s|([%a_]+)|(%d+)$")
      if r == route then
        table.insert(codes, tonumber(code))
        statuses[tonumber(code)] = v
        if is_error(tonumber(code)) then errors = errors + v end
      end
    end
    table.sort(codes)
    local hist = {}
    for k, v in pairs(merged) do
      local r, i = string.match(k, "^h|([%a_]+)|(%d+)$")
      if r == route then hist[tonumber(i)] = v end
    end
    local answered0 = statuses[0] or 0 -- requests that got no answer (in the counts, not latencies)
    local p50, p95, p99, mx, mean
    if n > 0 then
      local mn = merged["min|" .. route]
      mx = merged["max|" .. route]
      p50 = percentile(hist, n, 0.50, mn, mx)
      p95 = percentile(hist, n, 0.95, mn, mx)
      p99 = percentile(hist, n, 0.99, mn, mx)
      mean = merged["sum|" .. route] / n
    end
    if sent > 0 then
      local status_text = {}
      for _, code in ipairs(codes) do
        table.insert(status_text, (code == 0 and "none" or tostring(code)) .. "=" .. statuses[code])
      end
      local function ms(x) return x and string.format("%.1f", x) or "-" end
      table.insert(lines, string.format("%-9s %-36s %8d %8.2f %9s %9s %9s %9s %7d  %s",
        route, ROUTE_NAMES[route], n + answered0, (n + answered0) / seconds, ms(p50), ms(p95), ms(p99), ms(mx), errors,
        table.concat(status_text, " ")))
      local status_json = {}
      for _, code in ipairs(codes) do
        table.insert(status_json, string.format('"%d": %d', code, statuses[code]))
      end
      table.insert(route_json, string.format(
        '    %s: {"route": %s, "sent": %d, "requests": %d, "answered": %d, "no_answer": %d, "in_flight_at_end": %d, ' ..
        '"requests_per_s": %s, "latency_ms": {"mean": %s, "p50": %s, "p95": %s, "p99": %s, "max": %s}, ' ..
        '"errors": %d, "status": {%s}}',
        json_string(route), json_string(ROUTE_NAMES[route]), sent, n + answered0, n, answered0, inflight,
        json_number((n + answered0) / seconds), json_number(mean), json_number(p50), json_number(p95), json_number(p99),
        json_number(mx), errors, table.concat(status_json, ", ")))
    end
    total_n = total_n + n + answered0
    total_err = total_err + errors
    total_sent = total_sent + sent
    total_inflight = total_inflight + inflight
  end
  local missed = merged.missed or 0
  table.insert(lines, string.format("%-9s %-36s %8d %8.2f %9s %9s %9s %9s %7d  %s",
    "total", string.format("(%.0f s, %d connections)", seconds, CONNECTIONS), total_n, total_n / seconds,
    "", "", "", "", total_err,
    string.format("error rate %.3f%%%s", total_n > 0 and 100 * total_err / total_n or 0,
      RATE > 0 and string.format("; target %.2f req/s, %d slots missed", RATE, missed) or "; closed loop")))

  io.write("\n")
  for _, line in ipairs(lines) do io.write(line, "\n") end

  local path = env("WL_OUT", nil)
  if path then
    local file = assert(io.open(path, "w"))
    file:write("{\n")
    file:write(string.format('  "url": %s,\n', json_string(env("WL_URL", ""))))
    file:write(string.format('  "finished_at": %s,\n', json_string(os.date("!%Y-%m-%dT%H:%M:%SZ"))))
    file:write(string.format('  "mode": %s,\n', json_string(RATE > 0 and "rate" or "closed_loop")))
    file:write(string.format('  "target_rate": %s,\n', json_number(RATE)))
    file:write(string.format('  "connections": %d,\n', CONNECTIONS))
    file:write(string.format('  "duration_s": %s,\n', json_number(seconds)))
    file:write(string.format('  "mix": %s,\n', json_string(MIX_TEXT)))
    file:write(string.format('  "total": {"requests": %d, "sent": %d, "in_flight_at_end": %d, "requests_per_s": %s, ' ..
      '"errors": %d, "error_rate": %s, "missed_slots": %d},\n',
      total_n, total_sent, total_inflight, json_number(total_n / seconds), total_err,
      total_n > 0 and string.format("%.6f", total_err / total_n) or "null", missed))
    file:write(string.format('  "wrk": {"requests": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, ' ..
      '"write": %d, "status": %d, "timeout": %d}},\n',
      summary.requests, summary.bytes, summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout))
    file:write('  "routes": {\n' .. table.concat(route_json, ",\n") .. "\n  }\n}\n")
    file:close()
  end
end
