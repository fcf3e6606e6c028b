-- wrk script: each request alternates POST /auth and GET /contents with the
-- latest token, so two requests make one sign-in-and-read pair.
local token = nil
local n = 0

request = function()
  n = n + 1
  if token == nil or n % 2 == 1 then
    return wrk.format("POST", "/auth", { ["Content-Type"] = "application/json" },
      '{"email":"bench@example.com","password":"bench-password"}')
  end
  return wrk.format("GET", "/contents", { ["Authorization"] = "Bearer " .. token })
end

response = function(status, headers, body)
  local t = body:match('"token":"([^"]+)"')
  if t then token = t end
end
