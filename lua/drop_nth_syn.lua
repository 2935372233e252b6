-- Drops every n-th TCP SYN to a port. The client retransmits its SYN
-- (after ~1 s) and the connection still completes — a slow, flaky connect.
-- params: n (default 3), port (default 5432)
local n = params.n or 3
local port = params.port or 5432
local syns = 0

function filter(pkt)
    if pkt.tcp and pkt.syn and not pkt.ack and pkt.dst_port == port then
        syns += 1
        if syns % n == 0 then
            return DROP
        end
    end
    return PASS
end
