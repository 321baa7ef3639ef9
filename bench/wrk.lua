-- wrk script shared by every scenario of bench/run.sh. Configured through the environment:
--   WRK_LABEL      name of the scenario, copied into the result line
--   WRK_ENDPOINT   what is requested (e.g. "GET /tasks/{id}"), copied into the result line
--   WRK_CONNS      the connection count given to wrk, copied into the result line
--   WRK_OUT        file the result line (one JSON object) is appended to; stdout if unset
--   WRK_TOKEN      bearer token sent as Authorization (optional)
--   WRK_METHOD     request method (default GET)
--   WRK_BODY       a fixed JSON body (POST /tasks, POST /login)
--   WRK_PATCH_IDS  file of task ids, one per line: every request is a PATCH of the next id
--                  (each thread starts at its own offset) with a title never sent before,
--                  so that every request really writes. One id = one hot row.
--   WRK_MOVE       1 (with WRK_PATCH_IDS): every request is a POST /tasks/{id}/move of the
--                  next id to the first place among its siblings, so that every request
--                  really writes (the task moved was not first: the one before it was)
--   WRK_FLOOD      1: every request is a POST /login with a wrong password for an email
--                  never sent before, from an X-Forwarded-For address never sent before
--                  (a distributed flood behind a trusted proxy: no throttle key repeats)
--   WRK_ATTACK     1: this run is an attacker's, copied into the result line (its non-2xx
--                  answers are expected, not errors of the measurement)
-- The URL given to wrk supplies the path (and query) of the fixed requests.
--
-- Every response whose status is not 2xx counts as an error, besides wrk's own socket
-- errors and timeouts. The `done` hook prints throughput, p50/p99 latency, errors and the
-- count of the statuses an attack is answered with (401, 408, 429, 503).

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_no", counter)
   table.insert(threads, thread)
end

local token = os.getenv("WRK_TOKEN")

local patch_ids_file = os.getenv("WRK_PATCH_IDS")
local patch_ids = nil
local next_index = 1
local sent = 0
non2xx = 0
s401, s408, s429, s503 = 0, 0, 0, 0
local flood = os.getenv("WRK_FLOOD") == "1"
local move = os.getenv("WRK_MOVE") == "1"

-- wrk.headers already holds Host (set before init runs): add to it, never replace it.
function init(args)
   if token and token ~= "" then
      wrk.headers["Authorization"] = "Bearer " .. token
   end
   local body = os.getenv("WRK_BODY")
   if body and body ~= "" then
      wrk.headers["Content-Type"] = "application/json"
      wrk.body = body
   end
   wrk.method = os.getenv("WRK_METHOD") or "GET"
   if patch_ids_file and patch_ids_file ~= "" then
      patch_ids = {}
      for line in io.lines(patch_ids_file) do
         if line ~= "" then
            table.insert(patch_ids, line)
         end
      end
      assert(#patch_ids > 0, "WRK_PATCH_IDS names an empty file")
      -- Threads start far apart in the list so that they rarely touch the same row at once.
      next_index = ((thread_no - 1) * math.floor(#patch_ids / 7 + 1)) % #patch_ids + 1
      wrk.headers["Content-Type"] = "application/json"
   end
end

-- wrk decides whether requests are dynamic by looking for a global `request` in the main
-- state, so it must be defined here, at load time, and only for the PATCH scenarios
-- (fixed requests are formatted once per thread, which is cheaper).
if patch_ids_file and patch_ids_file ~= "" then
   function request()
      local id = patch_ids[next_index]
      next_index = next_index % #patch_ids + 1
      sent = sent + 1
      if move then
         return wrk.format("POST", "/tasks/" .. id .. "/move", wrk.headers, '{"after_id":null}')
      end
      local body = string.format('{"title":"bench t%d r%d","is_done":%s}', thread_no, sent,
         (sent % 2 == 0) and "true" or "false")
      return wrk.format("PATCH", "/tasks/" .. id, wrk.headers, body)
   end
elseif flood then
   function request()
      sent = sent + 1
      -- 10.0.0.0/8 split between threads: 4 million addresses each before one repeats.
      local n = (thread_no - 1) * 4194304 + sent % 4194304
      local address = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256,
         math.floor(n / 256) % 256, n % 256)
      local headers = {}
      for name, value in pairs(wrk.headers) do
         headers[name] = value
      end
      headers["Content-Type"] = "application/json"
      headers["X-Forwarded-For"] = address
      local body = string.format('{"email":"flood-t%d-%d@bench.invalid","password":"wrong-password-%d"}',
         thread_no, sent, sent)
      return wrk.format("POST", "/login", headers, body)
   end
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if status == 401 then
         s401 = s401 + 1
      elseif status == 408 then
         s408 = s408 + 1
      elseif status == 429 then
         s429 = s429 + 1
      elseif status == 503 then
         s503 = s503 + 1
      end
   end
end

function done(summary, latency, requests)
   local bad, c401, c408, c429, c503 = 0, 0, 0, 0, 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non2xx") or 0)
      c401 = c401 + (thread:get("s401") or 0)
      c408 = c408 + (thread:get("s408") or 0)
      c429 = c429 + (thread:get("s429") or 0)
      c503 = c503 + (thread:get("s503") or 0)
   end
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   local seconds = summary.duration / 1e6
   local line = string.format(
      '{"label":"%s","endpoint":"%s","connections":%d,"requests":%d,"seconds":%.3f,"rps":%.2f,"p50_ms":%.3f,"p99_ms":%.3f,'
         .. '"mean_ms":%.3f,"max_ms":%.3f,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"errors":%d,'
         .. '"s401":%d,"s408":%d,"s429":%d,"s503":%d,"attack":%s}',
      os.getenv("WRK_LABEL") or "?", os.getenv("WRK_ENDPOINT") or "?",
      tonumber(os.getenv("WRK_CONNS") or "0") or 0, summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000, latency.max / 1000,
      bad, e.connect, e.read, e.write, e.timeout, bad + socket_errors,
      c401, c408, c429, c503, (os.getenv("WRK_ATTACK") == "1") and "true" or "false")
   local out = os.getenv("WRK_OUT")
   if out and out ~= "" then
      local f = assert(io.open(out, "a"))
      f:write(line, "\n")
      f:close()
   end
   io.write(line, "\n")
end
