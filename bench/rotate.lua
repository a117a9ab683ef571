-- wrk script of the HTTP bench (bench/README.md): POST pre-built bodies, in rotation.
--
--   wrk ... -s rotate.lua -H 'Content-Type: ...' -H 'Authorization: Bearer KEY' URL -- LIST
--
-- LIST names one body file per line. The bodies are built in Python from the loaded data
-- (bench/http_bodies.py) and read here as bytes ("rb", whole file), so msgpack bodies pass
-- through unchanged. Every request is formatted once, in init: the request() callback then
-- only hands out a ready string, so wrk's own cost per request stays what it is without a
-- script. Each wrk thread has its own Lua state; setup() numbers them so that they start at
-- different offsets and do not send the same body at the same moment.

local requests = {}
local position = 1
local threads = 0

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

function init(args)
  local list = args[1]
  assert(list, "usage: wrk ... -s rotate.lua URL -- BODY_LIST_FILE")
  for path in io.lines(list) do
    if path ~= "" then
      -- nil path and headers: the URL's path and the -H flags, for every target alike.
      requests[#requests + 1] = wrk.format("POST", nil, nil, read_bytes(path))
    end
  end
  assert(#requests > 0, "no bodies listed in " .. list)
  position = ((thread_number or 0) * 97) % #requests + 1
end

function request()
  local next_request = requests[position]
  position = position % #requests + 1
  return next_request
end
