-- Shared by the load scripts (loaded with dofile): counts answers by status in every thread
-- and prints one JSON line per route when the run ends.
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

statuses = {}

function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function response(status, headers, body)
  count_status(status)
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"route":"%s","requests":%d,"seconds":%.1f,"per_second":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"socket_errors":%d,"bad_status":%d,"statuses":{%s}}\n',
    ROUTE or threads[1]:get("ROUTE"), summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status, table.concat(parts, ",")))
end
