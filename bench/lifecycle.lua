-- wrk script for the token-lifecycle scenarios of bench/run.sh (BENCH_PARTS=lifecycle).
--
-- Every request is a form POST to the URL's path. Environment (read in every wrk thread):
--   LC_AUTH         "Authorization: Basic <value>" if set
--   LC_BODY         fixed body (introspection: token=<token>)
--   LC_LIST         instead of LC_BODY: per-thread item files LC_LIST.<thread> (one item a line,
--                   written by a collect run); body = LC_PREFIX .. item .. LC_SUFFIX
--   LC_SKIP         skip this many items of each thread's file                        [0]
--   LC_COUNT        use at most this many items per thread                            [all]
--   LC_CYCLE        1: start over at the end of the list (device-code polling);
--                   otherwise each item is sent once, and a thread that has sent its last item
--                   creates LC_LIST.done.<thread> and stops (run.sh then ends wrk with SIGINT)
--   LC_COLLECT      collect mode: from each 200 response, append the JSON member of this name
--                   (access_token, device_code) to LC_LIST.<thread>; after LC_COUNT items the
--                   thread creates LC_LIST.done.<thread> and stops
--   LC_EXPECT       what counts as the expected answer:
--                     active   200 with "active":true (introspection)
--                     200      any 200 (revocation, collect runs)
--                     pending  400 with error authorization_pending or slow_down (device polling)
--
-- done() prints one "BENCH_RESULT" line like bench/wrk.lua, with `unexpected` (responses that were
-- not the expected answer) and counts of what was seen: active, inactive, pending, slow_down.

local auth = os.getenv("LC_AUTH")
local fixed_body = os.getenv("LC_BODY")
local list = os.getenv("LC_LIST")
local prefix = os.getenv("LC_PREFIX") or ""
local suffix = os.getenv("LC_SUFFIX") or ""
local skip = tonumber(os.getenv("LC_SKIP") or "0")
local limit = tonumber(os.getenv("LC_COUNT") or "")
local cycle = os.getenv("LC_CYCLE") == "1"
local collect = os.getenv("LC_COLLECT")
local expect = os.getenv("LC_EXPECT") or "200"
if collect == "" then collect = nil end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
if auth and auth ~= "" then wrk.headers["Authorization"] = "Basic " .. auth end
if fixed_body and fixed_body ~= "" then wrk.body = fixed_body end

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  table.insert(threads, thread)
end

-- Per-thread state (each wrk thread has its own Lua state; thread_id is set by setup()).
non2xx = 0
unexpected = 0
active = 0
inactive = 0
pending = 0
slow_down = 0
first_bad = nil
local items = nil
local pos = 0
local out = nil
local collected = 0
local finished = false

local function finish()
  if finished then return end
  finished = true
  if out then out:close(); out = nil end
  local f = io.open(list .. ".done." .. thread_id, "w")
  if f then f:close() end
  wrk.thread:stop()
end

function init(args)
  if collect then
    out = assert(io.open(list .. "." .. thread_id, "w"))
    out:setvbuf("line")
  elseif list and list ~= "" then
    items = {}
    local n = 0
    for line in io.lines(list .. "." .. thread_id) do
      n = n + 1
      if n > skip and line ~= "" then
        if limit and #items >= limit then break end
        items[#items + 1] = prefix .. line .. suffix
      end
    end
    assert(#items > 0, "no items for thread " .. thread_id .. " in " .. list)
  end
end

-- wrk calls request() once on its first thread before the run (script_verify_request) and
-- discards the result: that call must not use up an item.
local verified = false

function request()
  if not items then return wrk.format() end
  if not verified and thread_id == 1 then
    verified = true
    return wrk.format(nil, nil, nil, items[1])
  end
  pos = pos + 1
  if pos > #items then
    if cycle then
      pos = 1
    else
      finish()
      pos = #items -- the connection still needs a request; it is not sent once the thread stops
    end
  end
  return wrk.format(nil, nil, nil, items[pos])
end

local function bad(status, body)
  unexpected = unexpected + 1
  if first_bad == nil then
    first_bad = tostring(status) .. " " .. string.sub(tostring(body or ""), 1, 200)
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  body = body or ""
  if expect == "active" then
    if status == 200 and string.find(body, '"active"%s*:%s*true') then
      active = active + 1
    else
      if status == 200 and string.find(body, '"active"%s*:%s*false') then inactive = inactive + 1 end
      bad(status, body)
    end
  elseif expect == "pending" then
    local err = status == 400 and string.match(body, '"error"%s*:%s*"([%w_]+)"')
    if err == "authorization_pending" then
      pending = pending + 1
    elseif err == "slow_down" then
      slow_down = slow_down + 1
    else
      bad(status, body)
    end
  elseif status ~= 200 then
    bad(status, body)
  end
  if collect and status == 200 and not finished then
    local v = string.match(body, '"' .. collect .. '"%s*:%s*"([^"]+)"')
    if v then
      out:write(v, "\n")
      collected = collected + 1
      if limit and collected >= limit then finish() end
    end
  end
end

function done(summary, latency, requests)
  local sum = { non2xx = 0, unexpected = 0, active = 0, inactive = 0, pending = 0, slow_down = 0 }
  local sample = ""
  for _, t in ipairs(threads) do
    for k, _ in pairs(sum) do sum[k] = sum[k] + (tonumber(t:get(k)) or 0) end
    local fb = t:get("first_bad")
    if fb ~= nil and sample == "" then sample = fb end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_s=%.3f rps=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d unexpected=%d active=%d inactive=%d pending=%d slow_down=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    sum.non2xx, e.connect, e.read, e.write, e.timeout,
    sum.unexpected, sum.active, sum.inactive, sum.pending, sum.slow_down))
  if sample ~= "" then
    io.write("BENCH_FIRST_NON2XX " .. sample:gsub("[\r\n]", " ") .. "\n")
  end
end
