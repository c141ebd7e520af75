-- One wrk script for every server and request of the benchmark; bench/run sets it up through
-- the environment:
--
--   BENCH_KIND    jamrs_open | jamrs_count | jamrs_insert   (jamrs and the ceiling)
--                 jampy_open | jampy_count | jampy_insert   (Jam.py's /api)
--   BENCH_COOKIE  the Cookie header of a session logged in once (empty for the ceiling)
--   BENCH_MARKER  substrings every good reply body contains, separated by "|"
--   BENCH_PAGES   how many 20-row pages the user has (offsets cycle through them)
--   BENCH_TASK_ID, BENCH_ITEM_ID   Jam.py's task and item IDs
--   BENCH_FIELDS  Jam.py's field list of the item, as a JSON array
--
-- Every reply is checked in response(): a status other than 200, or a body without every
-- marker, is a bad reply. done() prints one line "BENCH_RESULT {json}" that bench/run reads.

local kind = os.getenv("BENCH_KIND")
local cookie = os.getenv("BENCH_COOKIE") or ""
local marker_env = os.getenv("BENCH_MARKER") or ""
local pages = tonumber(os.getenv("BENCH_PAGES") or "250")
local task_id = os.getenv("BENCH_TASK_ID") or "1"
local item_id = os.getenv("BENCH_ITEM_ID") or "0"
local fields = os.getenv("BENCH_FIELDS") or "[]"

local markers = {}
for m in string.gmatch(marker_env, "[^|]+") do
  table.insert(markers, m)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

-- Per thread (each has its own Lua state).
local n = 0
bad = 0
bad_sample = ""

function init(args)
  -- Threads start at different pages.
  n = (thread_no or 0) * 101
end

local function jampy(method, params)
  return string.format('["%s",%s,%s,%s,null]', method, task_id, item_id, params)
end

local function insert_record(record_fields)
  -- Jam.py's change log record: the new values in the order of the client's field list.
  local values = {}
  for f in string.gmatch(record_fields, '"([^"]+)"') do
    if f == "title" then
      table.insert(values, string.format('"Bench note %d"', n))
    elseif f == "body" then
      table.insert(values, '"Inserted by the benchmark."')
    elseif f == "deleted" or f == "record_version" then
      table.insert(values, "0")
    else
      table.insert(values, "null")
    end
  end
  return "[" .. table.concat(values, ",") .. "]"
end

function request()
  n = n + 1
  local offset = ((n * 37) % pages) * 20
  local body
  if kind == "jamrs_open" then
    body = string.format('{"limit":20,"offset":%d}', offset)
  elseif kind == "jamrs_count" then
    body = '{"fields":["id"],"funcs":{"id":"count"},"summary":true}'
  elseif kind == "jamrs_insert" then
    body = string.format(
      '{"changes":[{"op":"insert","values":{"title":"Bench note %d","body":"Inserted by the benchmark."}}]}', n)
  elseif kind == "jampy_open" then
    -- As the grid sends it (item.js _do_open): expanded, every field, no filter, one page.
    body = jampy("open", string.format(
      '{"__expanded":true,"__fields":%s,"__open_empty":false,"__order":[],"__filters":[],"__limit":20,"__offset":%d}',
      fields, offset))
  elseif kind == "jampy_count" then
    -- The pager's count (table.js calc_summary).
    body = jampy("open",
      '{"__expanded":false,"__fields":["id"],"__funcs":{"id":"count"},"__summary":true,"__filters":[],"__limit":0,"__offset":0,"__order":[]}')
  elseif kind == "jampy_insert" then
    body = jampy("apply", string.format(
      '[{"fields":%s,"expanded":true,"logs":[{"record_status":1,"log_index":0,"record":%s,"details":{}}]},{"%s":{}}]',
      fields, insert_record(fields), item_id))
  else
    error("unknown BENCH_KIND " .. tostring(kind))
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  local ok = status == 200
  if ok then
    for _, m in ipairs(markers) do
      if not string.find(body, m, 1, true) then
        ok = false
        break
      end
    end
  end
  if not ok then
    bad = bad + 1
    if bad_sample == "" then
      bad_sample = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local total_bad = 0
  local sample = ""
  for _, t in ipairs(threads) do
    total_bad = total_bad + (t:get("bad") or 0)
    local s = t:get("bad_sample") or ""
    if sample == "" and s ~= "" then
      sample = s
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bad":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"bad_sample":%s}\n',
    summary.requests, summary.duration, total_bad, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max, json_string(sample)))
end
