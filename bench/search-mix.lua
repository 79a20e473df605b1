-- wrk script: GET /api/search with a mix of realistic pasted queries (codes, log lines,
-- typos, phrases, asset + alarm), one chosen at random per request.
local queries = {
  "Bad_ConnectionRejected", "0x80AC0000", "2158755840", "-2136211456", "badsecuritychecksfailed",
  "80740000", "Bad_TooManySessions", "0xc0040007 Failed to Add Item to Data Server",
  "2026-11-20 02:14:07,331 WARN [milo-netty-event-loop-3] c.i.i.g.o.c.c.OpcUaConnection: connect to opc.tcp://kepsrv01:49320 failed: UaException: status=Bad_ConnectionRejected",
  "W [c.i.i.g.o.c.c.OpcUaConnection] Subscription watchdog timer elapsed, id=65553",
  "subscripton watchdgo timer", "redundency switchover", "hmi server does not switch back to primary",
  "historian collector shows unknown", "s7-1500 channel disconnected wincc", "EngineFailureTimeout",
  "Standby - Ready", "HIST_HEARTBEAT.F_CV", "ifix node name hosts file", "S7Plus ConnState 9",
  "IGN-L3-C07 Bad_Timeout", "FTV-L5-C12 Bad_CertificateUntrusted", "AVV-L2-C03 EngineFailureTimeout",
  "certificate rejected", "\"collector was paused\"", "Bad_NotWritable tag write", "Bad_CertificateUriInvalid",
  "linx connector unreachable", "S7ONLINE ISO TCPIP", "Uncertain_LastUsableValue",
}
local encoded = {}
for i, q in ipairs(queries) do
  encoded[i] = q:gsub("([^%w%-%.%_%~])", function(c) return string.format("%%%02X", string.byte(c)) end)
end
math.randomseed(42)
request = function()
  local q = encoded[math.random(#encoded)]
  return wrk.format("GET", "/api/search?limit=10&q=" .. q)
end
