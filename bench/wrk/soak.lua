-- The soak's wrk script (bench/run --soak): many tenants, a weighted mix of opens, counts,
-- inserts, updates and deletes, every reply checked, and latencies kept per time window and per
-- kind so that bench/run can show how they move while the table grows.
--
-- Run with one connection per thread (-t N -c N): a thread then has at most one request in
-- flight, so it can time each request itself (LuaJIT's FFI clock; wrk's own histogram has no
-- time windows) and knows which reply answers which request.
--
--   BENCH_COOKIES   the tenants' session cookies (Cookie header values), separated by "|"
--   BENCH_WINDOW    the length of a latency window, in seconds
--   BENCH_SLICE     the length of a throughput slice, in seconds
--   BENCH_PAGES     pages of 20 rows the opens cycle through
--   BENCH_MIX       the weights, e.g. "open=10,count=4,insert=6,update=3,delete=2"
--   BENCH_THREADS   wrk's thread count (-t)
--
-- Each thread serves the tenants t, t + threads, t + 2·threads, ... in turn, one per operation.
-- An update changes the newest row the thread inserted for the tenant and a delete removes the
-- oldest (soft delete: the row stays, flagged); a tenant with no such row yet gets an insert
-- instead. done() prints "BENCH_SOAK {json}".

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local cookies = {}
for c in string.gmatch(os.getenv("BENCH_COOKIES") or "", "[^|]+") do
  table.insert(cookies, c)
end
local window_us = tonumber(os.getenv("BENCH_WINDOW") or "60") * 1000000
local slice_us = tonumber(os.getenv("BENCH_SLICE") or "10") * 1000000
local pages = tonumber(os.getenv("BENCH_PAGES") or "10")

-- The mix as a fixed cycle of kinds, each kind's slots spread over the cycle.
local cycle = {}
do
  local weights, total = {}, 0
  for kind, w in string.gmatch(os.getenv("BENCH_MIX") or "open=1", "(%a+)=(%d+)") do
    table.insert(weights, { kind = kind, w = tonumber(w) })
    total = total + tonumber(w)
  end
  local slots = {}
  for _, kw in ipairs(weights) do
    for j = 0, kw.w - 1 do
      table.insert(slots, { pos = (j + 0.5) / kw.w, kind = kw.kind })
    end
  end
  table.sort(slots, function(a, b)
    if a.pos == b.pos then
      return a.kind < b.kind
    end
    return a.pos < b.pos
  end)
  for _, s in ipairs(slots) do
    table.insert(cycle, s.kind)
  end
end

local OPEN = "/api/items/notes/open"
local APPLY = "/api/items/notes/apply"
local COUNT_BODY = '{"fields":["id"],"funcs":{"id":"count"},"summary":true}'

local threads = {}
local t0_main = now_us()

function setup(thread)
  thread:set("thread_no", #threads)
  thread:set("t0", t0_main)
  table.insert(threads, thread)
end

-- Per thread. Globals are read by done() with thread:get, which copies flat tables only (a
-- table of tables crashes wrk 4.1), hence the keys made of several parts.
hist = {}      -- hist["window:kind:bucket"] = replies
slices = {}    -- slices["slice:kind"] = replies
bad = {}       -- bad[kind] = count
bad_sample = ""
ok_writes = {} -- ok_writes[kind] = good replies of inserts, updates and deletes
local n = 0
local my_tenants = {}
local rows = {}  -- rows[tenant] = { first = i, last = j, [i..j] = ids }
local pending = nil

function init(args)
  -- A thread does not know how many there are: bench/run passes it.
  local me, nthreads = thread_no or 0, tonumber(os.getenv("BENCH_THREADS") or "1")
  for t = me + 1, #cookies, nthreads do
    table.insert(my_tenants, t)
  end
  n = me * 7
end

local function bucket(us)
  if us < 1000 then
    return us
  end
  local w = 10 ^ (math.floor(math.log10(us)) - 2)
  return math.floor(us / w) * w
end

local function list(tenant)
  local l = rows[tenant]
  if not l then
    l = { first = 1, last = 0 }
    rows[tenant] = l
  end
  return l
end

function request()
  if #my_tenants == 0 then
    my_tenants = { 1 }
  end
  n = n + 1
  local tenant = my_tenants[(n % #my_tenants) + 1]
  local kind = cycle[(n % #cycle) + 1]
  local l = list(tenant)
  if (kind == "update" or kind == "delete") and l.last < l.first then
    kind = "insert"
  end
  local path, body = OPEN, nil
  local id = nil
  if kind == "open" then
    body = string.format('{"limit":20,"offset":%d}', ((n * 37) % pages) * 20)
  elseif kind == "count" then
    body = COUNT_BODY
  elseif kind == "insert" then
    path = APPLY
    body = string.format(
      '{"changes":[{"op":"insert","values":{"title":"Soak note %d","body":"Inserted by the soak."}}]}', n)
  elseif kind == "update" then
    path = APPLY
    id = l[l.last]
    body = string.format('{"changes":[{"op":"update","id":%d,"values":{"title":"Soak update %d"}}]}', id, n)
  else -- delete
    path = APPLY
    id = l[l.first]
    l[l.first] = nil
    l.first = l.first + 1
    body = string.format('{"changes":[{"op":"delete","id":%d}]}', id)
  end
  pending = { kind = kind, tenant = tenant, start = now_us() }
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Cookie"] = cookies[tenant],
  }, body)
end

local MARKERS = {
  open = '"rows"',
  count = '"rows":[[',
  insert = '"op":"insert"',
  update = '"op":"update"',
  delete = '"op":"delete"',
}

function response(status, headers, body)
  local p = pending
  if not p then
    return
  end
  pending = nil
  local now = now_us()
  local kind = p.kind
  local ok = status == 200 and body ~= nil and string.find(body, MARKERS[kind], 1, true) ~= nil
  if ok and kind == "insert" then
    local id = tonumber(string.match(body, '"id":(%d+)'))
    if id then
      local l = list(p.tenant)
      l.last = l.last + 1
      l[l.last] = id
      -- Keep at most 200 rows per tenant to update or delete (the oldest are left alone).
      if l.last - l.first >= 200 then
        l[l.first] = nil
        l.first = l.first + 1
      end
    else
      ok = false
    end
  end
  if ok then
    if kind ~= "open" and kind ~= "count" then
      ok_writes[kind] = (ok_writes[kind] or 0) + 1
    end
  else
    bad[kind] = (bad[kind] or 0) + 1
    if bad_sample == "" then
      bad_sample = kind .. ": " .. tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
  local since = p.start - t0
  local hk = math.floor(since / window_us) .. ":" .. kind .. ":" .. bucket(now - p.start)
  hist[hk] = (hist[hk] or 0) + 1
  local sk = math.floor(since / slice_us) .. ":" .. kind
  slices[sk] = (slices[sk] or 0) + 1
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

-- A flat table of numbers as a JSON object (keys become strings).
local function json(t)
  local parts = {}
  for k, v in pairs(t) do
    table.insert(parts, json_string(tostring(k)) .. ":" .. string.format("%d", v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function add(into, from)
  for k, v in pairs(from) do
    into[k] = (into[k] or 0) + v
  end
end

function done(summary, latency, requests)
  local all = { hist = {}, slices = {}, bad = {}, ok_writes = {} }
  local sample = ""
  for _, t in ipairs(threads) do
    add(all.hist, t:get("hist") or {})
    add(all.slices, t:get("slices") or {})
    add(all.bad, t:get("bad") or {})
    add(all.ok_writes, t:get("ok_writes") or {})
    local s = t:get("bad_sample") or ""
    if sample == "" and s ~= "" then
      sample = s
    end
  end
  local e = summary.errors
  io.write('BENCH_SOAK {"requests":' .. string.format("%d", summary.requests) ..
    ',"duration_us":' .. string.format("%d", summary.duration) ..
    ',"errors":{"connect":' .. e.connect .. ',"read":' .. e.read .. ',"write":' .. e.write ..
    ',"status":' .. e.status .. ',"timeout":' .. e.timeout .. '}' ..
    ',"hist":' .. json(all.hist) .. ',"slices":' .. json(all.slices) ..
    ',"bad":' .. json(all.bad) .. ',"ok_writes":' .. json(all.ok_writes) ..
    ',"bad_sample":' .. json_string(sample) .. '}\n')
end
