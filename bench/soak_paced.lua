-- wrk script of the soak (bench/soak.py): a mix of routes at a steady rate.
--
--   wrk ... -s soak_paced.lua -H 'Authorization: Bearer KEY' URL -- LIST SPACING_US
--
-- LIST has one request per line, "ROUTE<TAB>CONTENT-TYPE<TAB>BODY_FILE", in the order and
-- proportions the soak wants (single checks, passport scans, small batches); each request
-- is formatted once, in init, with the -H headers plus its own Content-Type.
--
-- Pacing: wrk alone is closed-loop (each connection sends as soon as its answer is in),
-- so its rate is whatever the server can take. Here each wrk thread keeps a schedule,
-- one request every SPACING_US microseconds, and delay() (called before each request)
-- hands the next slot to whichever of the thread's connections asks and waits until it
-- is due: the rate stays threads / spacing whatever the latency, as long as a connection
-- gets its answer before its next slot. When the server falls behind, missed slots are
-- dropped (no burst of catch-up requests) and wrk does not count the wait as latency:
-- the soak prints each slice's real rate and wrk's max latency, so a stall still shows.
-- wrk takes delay() in whole milliseconds; the slots, kept in microseconds, hold the
-- average rate.
-- The clock is clock_gettime(CLOCK_MONOTONIC) through LuaJIT's ffi (wrk links LuaJIT).

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
  int clock_gettime(int clock, soak_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local now_buffer = ffi.new("soak_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_buffer)
  return tonumber(now_buffer.tv_sec) * 1e6 + tonumber(now_buffer.tv_nsec) / 1e3
end

local requests = {}
local position = 1
local threads = 0
local spacing_us = 0
local slot_us = nil

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local function read_bytes(path)
  local file = assert(io.open(path, "rb"))
  local body = file:read("*a")
  file:close()
  return body
end

local function with_content_type(content_type)
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["Content-Type"] = content_type
  return headers
end

function init(args)
  local list, spacing = args[1], tonumber(args[2])
  assert(list and spacing, "usage: wrk ... -s soak_paced.lua URL -- LIST SPACING_US")
  spacing_us = spacing
  for line in io.lines(list) do
    local route, content_type, path = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
    if route then
      requests[#requests + 1] =
        wrk.format("POST", route, with_content_type(content_type), read_bytes(path))
    end
  end
  assert(#requests > 0, "no requests listed in " .. list)
  position = ((thread_number or 0) * 97) % #requests + 1
end

function delay()
  local now = now_us()
  slot_us = math.max((slot_us or now) + spacing_us, now - spacing_us)
  return math.max(0, math.floor((slot_us - now) / 1000))
end

function request()
  local next_request = requests[position]
  position = position % #requests + 1
  return next_request
end
