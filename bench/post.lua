-- wrk script of `make bench`: POSTs a JSON body, unique per request, and prints the run's
-- figures as one JSON line that bench/wrk.py reads. Configured by the environment, which
-- (unlike wrk's script arguments) is there when wrk loads the script and decides whether
-- requests are paced:
--
-- BENCH_BODY_FILE  the body; every "__N__" in it becomes <prefix>-<thread>-<counter>, so
--                  each request registers someone new (distinct names and emails)
-- BENCH_PREFIX     what makes this run's bodies differ from every other run's
-- BENCH_TOKEN      bearer token; empty: no Authorization header
-- BENCH_RATE       requests per second over the whole run; empty or 0: as fast as answered
-- BENCH_THREADS    wrk's -t, to split the rate between threads
-- BENCH_PATHS_FILE optional: one request path per line, taken in turn (a command on many
--                  records, e.g. /v1/opportunities/<id>/stage); empty: the URL's path
-- BENCH_ALTERNATES optional, comma-separated: every "__ALT__" in the body becomes the next
--                  one each time the paths start over (a deal moved there and back)

local body_file = os.getenv("BENCH_BODY_FILE")
local token = os.getenv("BENCH_TOKEN") or ""
local rate = tonumber(os.getenv("BENCH_RATE") or "") or 0
local thread_total = tonumber(os.getenv("BENCH_THREADS") or "") or 1

local file = assert(io.open(body_file, "rb"))
local template = file:read("*a")
file:close()

local paths = {}
local paths_file = os.getenv("BENCH_PATHS_FILE") or ""
if paths_file ~= "" then
  for line in io.lines(paths_file) do
    if line ~= "" then
      table.insert(paths, line)
    end
  end
end
local alternates = {}
for value in string.gmatch(os.getenv("BENCH_ALTERNATES") or "", "[^,]+") do
  table.insert(alternates, value)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("prefix", (os.getenv("BENCH_PREFIX") or "bench") .. "-" .. #threads)
end

local counter = 0
non_2xx = 0

function request()
  counter = counter + 1
  local body = template:gsub("__N__", prefix .. "-" .. counter)
  if #paths == 0 then
    return wrk.format(nil, nil, nil, body)
  end
  local turn = math.floor((counter - 1) / #paths)
  if #alternates > 0 then
    body = body:gsub("__ALT__", alternates[turn % #alternates + 1])
  end
  return wrk.format(nil, paths[(counter - 1) % #paths + 1], nil, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

-- Only when pacing: once a script has delay(), wrk sends every request through a timer.
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock, bench_timespec *now);
  ]])
  local CLOCK_MONOTONIC = 1
  local now_ts = ffi.new("bench_timespec")
  local interval_ms = 1000 * thread_total / rate
  local next_at = nil

  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
    return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
  end

  -- Each thread sends its share on a fixed schedule (open loop): a late answer makes the
  -- next request go at once instead of pushing the whole schedule back.
  function delay()
    local now = now_ms()
    if next_at == nil then
      next_at = now
    end
    local wait = next_at - now
    next_at = next_at + interval_ms
    if wait < 0 then
      return 0
    end
    return wait
  end
end

function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do
    refused = refused + (thread:get("non_2xx") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non_2xx": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes, refused,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)
  ))
end
