-- Blackholes a flow once it has carried params.bytes of payload (default
-- 1 MB, counted over both directions): a connection that stalls mid-transfer
-- while new flows still work.
local limit = params.bytes or 1000000
local carried = {}

function filter(pkt)
    if not (pkt.tcp or pkt.udp) then
        return PASS
    end
    local a = pkt.src .. ":" .. pkt.src_port
    local b = pkt.dst .. ":" .. pkt.dst_port
    local key = if a < b then a .. " " .. b else b .. " " .. a
    local n = (carried[key] or 0) + pkt.payload_len
    carried[key] = n
    if n > limit then
        return DROP
    end
    return PASS
end
