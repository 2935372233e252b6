-- A routing filter: traffic for one port goes to another node, whatever its
-- destination address says ("port 9000 to the standby"). Attach it where the
-- traffic enters (the client's link, or a segment).
-- params: port (default 9000), to (default "standby")
local port = params.port or 9000
local to = params.to or "standby"

function filter(pkt)
    if pkt.dst_port == port then
        return route(to)
    end
    return PASS
end
