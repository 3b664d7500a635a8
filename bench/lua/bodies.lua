-- wrk script template: bench/load.py fills the double-braced slots into a copy per run.
--
-- Each thread reads the same pre-sampled request bodies (one JSON body per
-- line, drawn with a Zipf skew by bench/workload.py), formats them once, and
-- cycles through them from its own offset so that threads do not send the
-- same sequence in lockstep. done() writes the run's numbers as JSON for
-- bench/load.py to parse.

local bodies_path = {{BODIES}}
local result_path = {{RESULT}}
local request_path = {{PATH}}
local thread_count = {{THREADS}}
local headers = {{HEADERS}}

local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

local prepared = {}
local cursor = 0

function init(args)
  for line in io.lines(bodies_path) do
    if #line > 0 then
      prepared[#prepared + 1] = wrk.format("POST", request_path, headers, line)
    end
  end
  if #prepared == 0 then
    error("no request bodies in " .. bodies_path)
  end
  local stride = math.floor(#prepared / thread_count)
  cursor = ((thread_id or 0) * stride) % #prepared
end

function request()
  cursor = cursor % #prepared + 1
  return prepared[cursor]
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
