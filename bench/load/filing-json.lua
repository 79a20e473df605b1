-- Filings without photos, as fast as they are acknowledged: what each commit costs.
-- Arguments: bearer token, a run label that keeps keys of separate runs apart.
ROUTE = "POST /api/cases (JSON)"
dofile("bench/load/report.lua")
local token, label
local n = 0

function init(args)
  token = args[1]
  label = args[2] or "run"
end

function request()
  n = n + 1
  local key = string.format("cost-%s-%d-%d", label, thread_no, n)
  local body = string.format('{"verbatim_alarm":"Bad_Timeout commit cost %s","outcome":"fixed"}', key)
  return wrk.format("POST", "/api/cases", {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
    ["Authorization"] = "Bearer " .. token,
  }, body)
end
