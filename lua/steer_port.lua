-- A routing filter: traffic for one port goes to another node, whatever its
-- destination address says ("port 9000 to the standby"). Attach it where the
-- traffic enters (the client's link, or a segment).
-- The standby keeps the original destination address, so it must own it:
-- put the address on its loopback and keep it out of ARP (sysctl
-- arp_ignore=1, arp_announce=2), as for an LVS direct-routing real server;
-- otherwise it answers ARP for the primary and clients start sending it
-- everything.
-- params: port (default 9000), to (default "standby")
local port = params.port or 9000
local to = params.to or "standby"

function filter(pkt)
    if pkt.dst_port == port then
        return route(to)
    end
    return PASS
end
