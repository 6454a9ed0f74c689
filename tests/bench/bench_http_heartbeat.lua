-- wrk script for tests/bench/bench_http.sh: POST heartbeats round-robin
-- over the nodes the script checked in (env BENCH_NODES, default 100),
-- with the join token in env BENCH_TOKEN.
local token = os.getenv("BENCH_TOKEN")
local nodes = tonumber(os.getenv("BENCH_NODES") or "100")
local i = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

request = function()
	i = (i % nodes) + 1
	local body = string.format(
		'{"cluster":"bench","address":"10.1.%d.%d","status":"up","load_bytes":%d}',
		math.floor(i / 256), i % 256, 1000000 + i)
	return wrk.format(nil, nil, nil, body)
end
