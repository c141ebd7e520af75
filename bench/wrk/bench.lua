-- One wrk script for every server and request of the benchmark's table. bench/run describes the
-- operation through the environment; the script knows no server.
--
-- An operation is one request, or a few sent one after the other on the same connection (a
-- grid's page and then its count). Step i (1-based) of an operation is:
--
--   BENCH_S<i>_METHOD    GET | POST | PATCH
--   BENCH_S<i>_PATH      the path and query
--   BENCH_S<i>_BODY      the body ("" for none)
--   BENCH_S<i>_MARKERS   substrings every good reply contains, separated by "|"; a marker that
--                        starts with "!" must not be in the reply
--   BENCH_S<i>_COUNT     optional "N=substring": a good reply contains it exactly N times
--
-- and BENCH_STEPS is the number of steps (1 if unset). Paths and bodies are templates:
--
--   {n}       the operation's number on this thread (1, 2, ...)
--   {offset}  a page's offset: the first BENCH_PAGES 20-row pages, in a shuffled cycle
--   {page}    the same page, numbered from 1
--   {id}      one of BENCH_IDS (a comma-separated list), in a cycle
--   {term}    one of BENCH_TERMS (comma-separated), in a cycle
--   {uid}     a 15-character key unique to the operation ([a-z0-9], PocketBase's form), made of
--             BENCH_RUN (two characters, one per wrk run), the thread and {n}
--
-- Every request carries BENCH_COOKIE (a Cookie header) or BENCH_AUTH (an Authorization header)
-- when set. Every reply is checked in response(): a status other than 200, a missing marker or a
-- wrong count is a bad reply.
--
-- With BENCH_OP_TIMING=1 the script times each operation itself, from the first step's request
-- to the last step's reply (wrk times single requests only). That needs one connection per wrk
-- thread (-t N -c N), so that a thread's steps are one connection's; an operation of several
-- steps is always timed so. done() prints one line
-- "BENCH_RESULT {json}" that bench/run reads; with op timing its percentiles are the
-- operations', otherwise wrk's own.

local steps_n = tonumber(os.getenv("BENCH_STEPS") or "1")
local cookie = os.getenv("BENCH_COOKIE") or ""
local auth = os.getenv("BENCH_AUTH") or ""
local pages = tonumber(os.getenv("BENCH_PAGES") or "10")
local run_id = os.getenv("BENCH_RUN") or "00"
local op_timing = os.getenv("BENCH_OP_TIMING") == "1" or steps_n > 1

local function split(s, sep)
  local out = {}
  for part in string.gmatch(s or "", "[^" .. sep .. "]+") do
    table.insert(out, part)
  end
  return out
end

local ids = split(os.getenv("BENCH_IDS"), ",")
local terms = split(os.getenv("BENCH_TERMS"), ",")

local steps = {}
for i = 1, steps_n do
  local p = "BENCH_S" .. i .. "_"
  local step = {
    method = os.getenv(p .. "METHOD") or "POST",
    path = os.getenv(p .. "PATH") or "/",
    body = os.getenv(p .. "BODY") or "",
    markers = {},
    absent = {},
  }
  for _, m in ipairs(split(os.getenv(p .. "MARKERS"), "|")) do
    if string.sub(m, 1, 1) == "!" then
      table.insert(step.absent, string.sub(m, 2))
    else
      table.insert(step.markers, m)
    end
  end
  local count = os.getenv(p .. "COUNT")
  if count and count ~= "" then
    local n, what = string.match(count, "^(%d+)=(.+)$")
    step.count_n, step.count_what = tonumber(n), what
  end
  step.templated = string.find(step.path .. step.body, "{%a+}") ~= nil
  table.insert(steps, step)
end

local headers = {}
if steps[1] and steps[1].body ~= "" then
  headers["Content-Type"] = "application/json"
end
if cookie ~= "" then
  headers["Cookie"] = cookie
end
if auth ~= "" then
  headers["Authorization"] = auth
end

-- A monotonic clock in µs (LuaJIT's FFI; wrk links LuaJIT).
local now_us
if op_timing then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk_id, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  now_us = function()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
  end
end

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

-- Per thread (each has its own Lua state); globals are what done() reads with thread:get.
bad = 0
bad_sample = ""
op_hist = {}
ops_done = 0
local n = 0
local step_i = 0
local vars = {}
local op_start = 0
local in_flight = false

function init(args)
  -- Threads start at different places of the cycles.
  n = (thread_no or 0) * 101
end

-- A latency bucket: exact below 1 ms, three significant digits above.
local function bucket(us)
  if us < 1000 then
    return us
  end
  local w = 10 ^ (math.floor(math.log10(us)) - 2)
  return math.floor(us / w) * w
end

local function fill(template)
  return (string.gsub(template, "{(%a+)}", vars))
end

function request()
  if op_timing and in_flight then
    -- The last request got no reply: it was wrk's trial call of request() when it starts, or
    -- the connection was made again after an error. Start the operation again.
    step_i = 0
  end
  in_flight = true
  step_i = step_i + 1
  if step_i > #steps then
    step_i = 1
  end
  local step = steps[step_i]
  if step_i == 1 then
    n = n + 1
    local offset = ((n * 37) % pages) * 20
    vars.n = n
    vars.offset = offset
    vars.page = offset / 20 + 1
    vars.id = ids[(n % math.max(#ids, 1)) + 1] or ""
    vars.term = terms[(n % math.max(#terms, 1)) + 1] or ""
    vars.uid = string.format("%s%03d%010d", run_id, (thread_no or 0) % 1000, n % 10000000000)
    if op_timing then
      op_start = now_us()
    end
  end
  local path, body = step.path, step.body
  if step.templated then
    path, body = fill(path), fill(body)
  end
  return wrk.format(step.method, path, headers, body ~= "" and body or nil)
end

local function good(step, status, body)
  if status ~= 200 or body == nil then
    return false
  end
  for _, m in ipairs(step.markers) do
    if not string.find(body, m, 1, true) then
      return false
    end
  end
  for _, m in ipairs(step.absent) do
    if string.find(body, m, 1, true) then
      return false
    end
  end
  if step.count_n then
    local found, at = 0, 1
    while true do
      local s, e = string.find(body, step.count_what, at, true)
      if not s then
        break
      end
      found, at = found + 1, e + 1
    end
    if found ~= step.count_n then
      return false
    end
  end
  return true
end

function response(status, headers, body)
  in_flight = false
  local step = steps[step_i]
  if not good(step, status, body) then
    bad = bad + 1
    if bad_sample == "" then
      bad_sample = "step " .. step_i .. ": " .. tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
  if step_i == #steps then
    ops_done = ops_done + 1
    if op_timing then
      local b = bucket(now_us() - op_start)
      op_hist[b] = (op_hist[b] or 0) + 1
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

-- The p-th percentile of a {bucket = count} histogram (the bucket's lower bound).
local function percentile(hist, total, p)
  local keys = {}
  for k in pairs(hist) do
    table.insert(keys, k)
  end
  table.sort(keys)
  local rank = math.max(1, math.ceil(p / 100 * total))
  local seen = 0
  for _, k in ipairs(keys) do
    seen = seen + hist[k]
    if seen >= rank then
      return k
    end
  end
  return 0
end

function done(summary, latency, requests)
  local total_bad, sample, ops = 0, "", 0
  local hist, timed = {}, 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (t:get("bad") or 0)
    ops = ops + (t:get("ops_done") or 0)
    local s = t:get("bad_sample") or ""
    if sample == "" and s ~= "" then
      sample = s
    end
    if op_timing then
      for k, v in pairs(t:get("op_hist") or {}) do
        hist[k] = (hist[k] or 0) + v
        timed = timed + v
      end
    end
  end
  local p50, p90, p99, mean, max
  if op_timing and timed > 0 then
    p50, p90, p99 = percentile(hist, timed, 50), percentile(hist, timed, 90), percentile(hist, timed, 99)
    local sum, top = 0, 0
    for k, v in pairs(hist) do
      sum = sum + k * v
      if k > top then
        top = k
      end
    end
    mean, max = sum / timed, top
  else
    p50, p90, p99 = latency:percentile(50), latency:percentile(90), latency:percentile(99)
    mean, max = latency.mean, latency.max
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"ops":%d,"steps":%d,"op_timing":%s,"duration_us":%d,"bad":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,"bad_sample":%s}\n',
    summary.requests, ops, #steps, tostring(op_timing), summary.duration, total_bad, e.connect,
    e.read, e.write, e.status, e.timeout, p50, p90, p99, mean, max, json_string(sample)))
end
