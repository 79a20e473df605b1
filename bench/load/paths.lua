-- Pages read from a list, one path per line, chosen at random: guide pages or case pages.
-- Arguments: the route name, the list file, milliseconds between one connection's requests
-- (0: as fast as answers come), and an optional bearer token.
dofile("bench/load/report.lua")
local paths = {}

function init(args)
  ROUTE = args[1]
  for line in io.lines(args[2]) do
    if #line > 0 then table.insert(paths, line) end
  end
  pause = tonumber(args[3]) or 0
  if args[4] then wrk.headers["Authorization"] = "Bearer " .. args[4] end
  math.randomseed(7 * thread_no)
end

function delay()
  return pause
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
