-- Searches: the pasted-query mix of bench/search-mix.lua.
ROUTE = "GET /api/search"
dofile("bench/search-mix.lua")
dofile("bench/load/report.lua")

-- Argument: milliseconds between one connection's searches (0: as fast as answers come).
function init(args)
  pause = tonumber(args[1]) or 0
end

function delay()
  return pause
end
