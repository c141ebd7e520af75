-- wrk script of bench/history: one apply per request on the item "notes" of a project whose
-- notes keep history or not.
--   HISTORY_KIND  insert | update
--   HISTORY_ROWS  rows 1..N exist (updates pick one of them)
-- Prints one line `HISTORY_RESULT {json}` with requests, non-200 answers and latencies.

local kind = os.getenv("HISTORY_KIND") or "insert"
local rows = tonumber(os.getenv("HISTORY_ROWS") or "10000")
local n = 0
local bad = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  n = (tonumber(wrk.thread:get("id")) or 0) * 1000003
end

function request()
  n = n + 1
  local body
  if kind == "insert" then
    body = string.format(
      '{"changes":[{"op":"insert","values":{"title":"Note %d","body":"Inserted by bench/history.","amount":%d}}]}',
      n, n % 1000)
  else
    body = string.format(
      '{"changes":[{"op":"update","id":%d,"values":{"title":"Edited %d","amount":%d}}]}',
      (n * 7919) % rows + 1, n, n % 1000)
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (t:get("bad") or 0)
  end
  io.write(string.format(
    'HISTORY_RESULT {"requests":%d,"duration_us":%d,"bad":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, total_bad, latency:percentile(50), latency:percentile(99)))
end
