-- Classifies traffic: packets of "bulk" ports get traffic class 1, DSCP EF
-- (46) gets class 2. Segment rules (or another script) can act on the mark;
-- with params.duplicate_ef the EF packets are also duplicated (a lossy-path
-- protection scheme to test receivers against).
-- params: bulk_ports (default {5001}), duplicate_ef (default false)
local bulk = {}
for _, p in ipairs(params.bulk_ports or {5001}) do
    bulk[p] = true
end

function filter(pkt)
    if pkt.dscp == 46 then
        if params.duplicate_ef then
            return DUPLICATE
        end
        return mark(2)
    end
    if bulk[pkt.dst_port] or bulk[pkt.src_port] then
        return mark(1)
    end
    return PASS
end
