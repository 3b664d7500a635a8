-- wrk script template of the cache phase: bench/cache_phase.py fills the double-braced
-- slots into a copy per run.
--
-- Each line of the items file is "<head>\t<tail>", or just "<head>" (JSON and URL-encoded
-- text never hold a raw tab). A POST sends prefix .. head .. token .. tail as its body to
-- request_path; a GET asks for the path prefix .. head .. token .. tail. The prefix is
-- what every item shares (a query text), so that a long workload is not held N times. The token is empty unless `unique` is on: then it
-- is "<nonce>-<thread>-<counter>", a different one for every request of the run, which
-- is how a query text that no cache has seen is made (bench/cache_phase.py puts the
-- token in a GraphQL comment). Without tokens, the requests are formatted once in
-- init() as bodies.lua does; with them, or with too many items to hold formatted, each
-- request is formatted when it is sent.
--
-- Threads start `offset` items in (so a measured run carries on where its warm-up
-- stopped) and `stride` apart. done() writes the same JSON as bodies.lua.

local items_path = {{ITEMS}}
local result_path = {{RESULT}}
local method = {{METHOD}}
local request_path = {{PATH}}
local headers = {{HEADERS}}
local unique = {{UNIQUE}}
local nonce = {{NONCE}}
local offset = {{OFFSET}}
local thread_count = {{THREADS}}
local prebuild_limit = {{PREBUILD_LIMIT}}
local prefix = {{PREFIX}}

local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

local heads = {}
local tails = {}
local prepared = nil
local cursor = 0
local counter = 0
local token_prefix = ""

local function format(head, token, tail)
  if method == "GET" then
    return wrk.format("GET", prefix .. head .. token .. tail, headers)
  end
  return wrk.format(method, request_path, headers, prefix .. head .. token .. tail)
end

function init(args)
  for line in io.lines(items_path) do
    if #line > 0 then
      local tab = string.find(line, "\t", 1, true)
      if tab == nil then
        heads[#heads + 1] = line
        tails[#tails + 1] = ""
      else
        heads[#heads + 1] = string.sub(line, 1, tab - 1)
        tails[#tails + 1] = string.sub(line, tab + 1)
      end
    end
  end
  if #heads == 0 then
    error("no items in " .. items_path)
  end
  if not unique and #heads <= prebuild_limit then
    prepared = {}
    for i = 1, #heads do
      prepared[i] = format(heads[i], "", tails[i])
    end
  end
  token_prefix = nonce .. "-" .. tostring(thread_id or 0) .. "-"
  local stride = math.floor(#heads / thread_count)
  cursor = (offset + (thread_id or 0) * stride) % #heads
end

function request()
  cursor = cursor % #heads + 1
  if prepared ~= nil then
    return prepared[cursor]
  end
  local token = ""
  if unique then
    counter = counter + 1
    token = token_prefix .. tostring(counter)
  end
  return format(heads[cursor], token, tails[cursor])
end

-- NaN (no requests at all) is not JSON: report it as 0.
local function finite(x)
  if x ~= x then
    return 0
  end
  return x
end

function done(summary, latency, requests)
  local errors = summary.errors
  local out = string.format(
    '{"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, '
      .. '"errors": {"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f}, '
      .. '"latency_us": {"p50": %.0f, "p95": %.0f, "p99": %.0f, "mean": %.1f, "max": %.0f, "stdev": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    finite(latency:percentile(50)), finite(latency:percentile(95)), finite(latency:percentile(99)),
    finite(latency.mean), finite(latency.max), finite(latency.stdev)
  )
  local file = assert(io.open(result_path, "w"))
  file:write(out)
  file:close()
end
