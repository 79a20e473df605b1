-- A steady rate of filings, each with a photo (the browser tests' cabinet photo), through the
-- API with a fresh idempotency key. Arguments: bearer token, milliseconds between filings, and
-- a run label that keeps keys of separate runs apart.
ROUTE = "POST /api/cases (with photo)"
dofile("bench/load/report.lua")
local token, interval, label
local photo
local n = 0
local boundary = "faultbookload7"

function init(args)
  token = args[1]
  interval = tonumber(args[2])
  label = args[3] or "run"
  local f = assert(io.open("tests/browser/fixtures/cabinet.jpg", "rb"))
  photo = f:read("*a")
  f:close()
end

function delay()
  return interval
end

function request()
  n = n + 1
  local key = string.format("load-%s-%d-%d", label, thread_no, n)
  local case = string.format('{"verbatim_alarm":"Bad_Timeout load run %s","outcome":"fixed","cell":"C%02d"}', key, n % 40)
  local body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="case"\r\nContent-Type: application/json\r\n\r\n'
    .. case .. "\r\n--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="photo"; filename="cabinet.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    .. photo .. "\r\n--" .. boundary .. "--\r\n"
  return wrk.format("POST", "/api/cases", {
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
    ["Idempotency-Key"] = key,
    ["Authorization"] = "Bearer " .. token,
  }, body)
end
