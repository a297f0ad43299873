-- wrk script for bench/wrk_load.py: each wrk thread cycles over its own file of pre-built,
-- pre-signed raw HTTP requests (records "<length>\n<bytes>"), and counts the statuses it
-- is answered with. At the end one JSON line (prefix WRK_JSON) says, per thread, how many
-- requests it handed out and which statuses came back, with wrk's own totals and latency.
-- Usage: wrk -t T -c C -d Ds -s wrk_deliveries.lua URL -- <directory of requests-<i>.bin>

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = args[1] .. "/requests-" .. id .. ".bin"
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  requests = {}
  local pos = 1
  while pos <= #data do
    local newline = string.find(data, "\n", pos, true)
    local length = tonumber(string.sub(data, pos, newline - 1))
    requests[#requests + 1] = string.sub(data, newline + 1, newline + length)
    pos = newline + length + 1
  end
  sent = 0
  statuses = {}
  -- wrk calls thread 0's request() once before any connection, to check the script's
  -- request (wrk.c, main: script_verify_request); that one is never sent.
  checked = id ~= 0
end

function request()
  if not checked then
    checked = true
    return requests[1]
  end
  local wire = requests[(sent % #requests) + 1]
  sent = sent + 1
  return wire
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local per_thread = {}
  for _, thread in ipairs(threads) do
    local counts = {}
    for status, count in pairs(thread:get("statuses")) do
      counts[#counts + 1] = string.format('"%d": %d', status, count)
    end
    per_thread[#per_thread + 1] = string.format(
      '{"id": %d, "sent": %d, "statuses": {%s}}',
      thread:get("id"), thread:get("sent"), table.concat(counts, ", "))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us": %d, "requests": %d, "errors": {"connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"p50": %.1f, '
      .. '"p90": %.1f, "p99": %.1f, "max": %.1f, "mean": %.1f}, "threads": [%s]}\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, table.concat(per_thread, ", ")))
end
