-- wrk script: POST the seed's v1 order (order.json in the working directory) as JSON.
local f = assert(io.open("order.json", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
