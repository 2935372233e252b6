-- Delays DNS answers (UDP from port 53) by params.ms (default 100 ms).
-- Queries and all other traffic pass untouched and are not held behind
-- the delayed answers.
local ms = params.ms or 100

function filter(pkt)
    if pkt.udp and pkt.src_port == 53 then
        return delay(ms)
    end
    return PASS
end
