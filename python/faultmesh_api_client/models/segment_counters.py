from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.segment_counters_drops import SegmentCountersDrops


T = TypeVar("T", bound="SegmentCounters")


@_attrs_define
class SegmentCounters:
    """One segment's forwarding counters.

    Attributes:
        answered (int): Frames the segment answered itself (ARP, ND, ping).
        drops (SegmentCountersDrops): Drops by reason (reasons with no drops are absent).
        flooded (int): Frames flooded.
        forwarded (int): Frames forwarded (each flooded copy counts).
        icmp_errors (int): ICMP errors generated.
        kind (str): `switch` or `router`.
        name (str): Name.
        neighbor_evictions (int): Neighbour entries evicted to stay under the cache's cap.
        neighbor_pending_packets (int): Packets waiting for a neighbour to resolve.
        table_entries (int): Learned MACs (switch) or neighbours (router).
    """

    answered: int
    drops: SegmentCountersDrops
    flooded: int
    forwarded: int
    icmp_errors: int
    kind: str
    name: str
    neighbor_evictions: int
    neighbor_pending_packets: int
    table_entries: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        answered = self.answered

        drops = self.drops.to_dict()

        flooded = self.flooded

        forwarded = self.forwarded

        icmp_errors = self.icmp_errors

        kind = self.kind

        name = self.name

        neighbor_evictions = self.neighbor_evictions

        neighbor_pending_packets = self.neighbor_pending_packets

        table_entries = self.table_entries

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "answered": answered,
                "drops": drops,
                "flooded": flooded,
                "forwarded": forwarded,
                "icmp_errors": icmp_errors,
                "kind": kind,
                "name": name,
                "neighbor_evictions": neighbor_evictions,
                "neighbor_pending_packets": neighbor_pending_packets,
                "table_entries": table_entries,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.segment_counters_drops import SegmentCountersDrops

        d = dict(src_dict)
        answered = d.pop("answered")

        drops = SegmentCountersDrops.from_dict(d.pop("drops"))

        flooded = d.pop("flooded")

        forwarded = d.pop("forwarded")

        icmp_errors = d.pop("icmp_errors")

        kind = d.pop("kind")

        name = d.pop("name")

        neighbor_evictions = d.pop("neighbor_evictions")

        neighbor_pending_packets = d.pop("neighbor_pending_packets")

        table_entries = d.pop("table_entries")

        segment_counters = cls(
            answered=answered,
            drops=drops,
            flooded=flooded,
            forwarded=forwarded,
            icmp_errors=icmp_errors,
            kind=kind,
            name=name,
            neighbor_evictions=neighbor_evictions,
            neighbor_pending_packets=neighbor_pending_packets,
            table_entries=table_entries,
        )

        segment_counters.additional_properties = d
        return segment_counters

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
