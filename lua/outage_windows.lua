-- Periodic outages: everything is dropped for params.down_ms at the start of
-- every params.period_ms, by the engine clock (default: 200 ms every 1 s).
local period = params.period_ms or 1000
local down = params.down_ms or 200

function filter(pkt)
    if now_ms() % period < down then
        return DROP
    end
    return PASS
end
