-- wrk script shared by every bench/run.sh scenario.
--
-- Environment (read in every wrk thread):
--   BENCH_BASIC_AUTH  if set, POST a client_credentials token request with
--                     "Authorization: Basic <value>"; otherwise plain GET.
--   BENCH_PORT2       if set, a second node on the URL's host at this port: wrk
--                     threads alternate between the URL's node and this one (thread 1
--                     the URL's, thread 2 this one, ...), each thread keeping its own
--                     connections; the Host header stays the URL's (both nodes serve
--                     one issuer).
--
-- Counts non-2xx responses per thread (response() hook) and, in done(),
-- prints one machine-readable line starting with "BENCH_RESULT" for run.sh.

local auth = os.getenv("BENCH_BASIC_AUTH")
if auth and auth ~= "" then
  wrk.method = "POST"
  wrk.body = "grant_type=client_credentials&scope=api"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Basic " .. auth
  wrk.headers["Accept"] = "application/json"
else
  wrk.method = "GET"
end

local threads = {}

local port2 = os.getenv("BENCH_PORT2")
local addrs = nil

function setup(thread)
  table.insert(threads, thread)
  if port2 and port2 ~= "" then
    if addrs == nil then
      addrs = { wrk.lookup(wrk.host, wrk.port or "http")[1], wrk.lookup(wrk.host, port2)[1] }
    end
    thread.addr = addrs[((#threads - 1) % 2) + 1]
  end
end

non2xx = 0
first_bad = nil

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == nil then
      first_bad = tostring(status) .. " " .. string.sub(tostring(body or ""), 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local bad = 0
  local sample = ""
  for _, t in ipairs(threads) do
    bad = bad + (tonumber(t:get("non2xx")) or 0)
    local fb = t:get("first_bad")
    if fb ~= nil and sample == "" then sample = fb end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_s=%.3f rps=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    bad, e.connect, e.read, e.write, e.timeout))
  if sample ~= "" then
    io.write("BENCH_FIRST_NON2XX " .. sample:gsub("[\r\n]", " ") .. "\n")
  end
end
