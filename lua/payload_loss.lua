-- Drops a share of the packets whose payload contains a pattern — e.g. only
-- requests to one API path fail, everything else is healthy. Uses the link's
-- seeded random(), so a rerun with the same seed drops the same packets.
-- params: pattern (default "GET /api"), percent (default 50)
local pattern = params.pattern or "GET /api"
local share = (params.percent or 50) / 100

function filter(pkt)
    if pkt:find(pattern) and random() < share then
        return DROP
    end
    return PASS
end
