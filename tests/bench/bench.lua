-- wrk script for tests/bench/run.sh.
--
-- Environment:
--   BENCH_CERT=FILE   static mode: the first line of FILE (an escaped PEM) is
--                     sent as X-SSL-Client-Cert on every request; the request
--                     is built once, so wrk's own cost is minimal.
--   BENCH_CERTS=FILE  cold mode: line k of FILE is sent with request k, each
--                     line once. With several wrk threads, thread t sends the
--                     lines k with k % threads == t, so no two threads repeat
--                     a line. Running out of lines starts the file again and
--                     counts a wrap: the result is then not all-cold, and
--                     done() says so.
--   BENCH_THREADS     the -t given to wrk (cold mode with several threads).
--   BENCH_PATH        request path (default /auth).
--   BENCH_URI         if set, sent as X-Original-URI on every request (the
--                     path a policy sees).
--
-- done() prints one machine-readable line for run.sh:
--   BENCH requests=N duration_us=N rps=X p50_us=N p99_us=N non2xx=N
--         sock_errors=N wraps=N

local path = os.getenv("BENCH_PATH") or "/auth"
local static_file = os.getenv("BENCH_CERT")
local cold_file = os.getenv("BENCH_CERTS")

local function first_line(name)
   local f = assert(io.open(name, "r"))
   local line = f:read("*l")
   f:close()
   return assert(line, name .. ": empty")
end

wrk.method = "GET"
wrk.path = path

if static_file then
   wrk.headers["X-SSL-Client-Cert"] = first_line(static_file)
end

local original_uri = os.getenv("BENCH_URI")
if original_uri then
   wrk.headers["X-Original-URI"] = original_uri
end

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

if cold_file then
   local f
   -- wrk calls init() for each thread before it creates the next one, so
   -- the thread count cannot be counted here: run.sh passes it.
   local nth = tonumber(os.getenv("BENCH_THREADS") or "1")
   wraps = 0 -- global: done() reads it through thread:get()

   function init(args)
      f = assert(io.open(cold_file, "r"))
      -- thread t starts at line t (0-based) and then takes every nth line
      for _ = 1, tid do f:read("*l") end
   end

   local function next_line()
      local line = f:read("*l")
      if line == nil or line == "" then
         wraps = wraps + 1
         f:seek("set", 0)
         for _ = 1, tid do f:read("*l") end
         line = assert(f:read("*l"), cold_file .. ": too few lines")
      end
      for _ = 2, nth do f:read("*l") end
      return line
   end

   local headers = {}
   if original_uri then
      headers["X-Original-URI"] = original_uri
   end
   function request()
      headers["X-SSL-Client-Cert"] = next_line()
      return wrk.format(nil, path, headers)
   end
end

function done(summary, latency, requests)
   local wraps_total = 0
   for _, t in ipairs(threads) do
      wraps_total = wraps_total + (tonumber(t:get("wraps")) or 0)
   end
   local e = summary.errors
   local sock = e.connect + e.read + e.write + e.timeout
   local dur = summary.duration
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d " ..
      "non2xx=%d sock_errors=%d wraps=%d\n",
      summary.requests, dur, summary.requests / (dur / 1e6),
      latency:percentile(50), latency:percentile(99),
      e.status, sock, wraps_total))
   if wraps_total > 0 then
      io.write("WARNING: certificate list wrapped " .. wraps_total ..
               " time(s): some requests were warm, not cold\n")
   end
end
