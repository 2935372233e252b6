from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.dir_live_drops import DirLiveDrops


T = TypeVar("T", bound="DirLive")


@_attrs_define
class DirLive:
    """Live state of one link direction: counters, queues, what is in force.

    Attributes:
        corrupted (int): Packets with a flipped bit.
        delay_line_packets (int): Wire packets in the delay line.
        delayed (int): Packets that spent time in the delay line.
        drops (DirLiveDrops): Dropped packets by reason (reasons with no drops are absent).
        duplicated (int): Extra copies created.
        faulted (int): Packets a fault acted on.
        faults (list[int]): Ids of the faults installed on this direction.
        filter_calls (int): Script filter calls.
        gso_split (int): GSO super-frames split in software.
        impairments (str): The impairments in force, netem style (configured plus faults).
        queue_bytes (int): Wire bytes waiting in the shaper.
        queue_packets (int): Wire packets waiting in the shaper.
        reordered (int): Packets sent ahead of the delay.
        rx_bytes (int): Bytes that entered.
        rx_packets (int): Packets that entered the direction.
        shaped (int): Packets that waited in the shaper queue.
        tx_bytes (int): Bytes that left it.
        tx_packets (int): Packets that left it.
    """

    corrupted: int
    delay_line_packets: int
    delayed: int
    drops: DirLiveDrops
    duplicated: int
    faulted: int
    faults: list[int]
    filter_calls: int
    gso_split: int
    impairments: str
    queue_bytes: int
    queue_packets: int
    reordered: int
    rx_bytes: int
    rx_packets: int
    shaped: int
    tx_bytes: int
    tx_packets: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        corrupted = self.corrupted

        delay_line_packets = self.delay_line_packets

        delayed = self.delayed

        drops = self.drops.to_dict()

        duplicated = self.duplicated

        faulted = self.faulted

        faults = self.faults

        filter_calls = self.filter_calls

        gso_split = self.gso_split

        impairments = self.impairments

        queue_bytes = self.queue_bytes

        queue_packets = self.queue_packets

        reordered = self.reordered

        rx_bytes = self.rx_bytes

        rx_packets = self.rx_packets

        shaped = self.shaped

        tx_bytes = self.tx_bytes

        tx_packets = self.tx_packets

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "corrupted": corrupted,
                "delay_line_packets": delay_line_packets,
                "delayed": delayed,
                "drops": drops,
                "duplicated": duplicated,
                "faulted": faulted,
                "faults": faults,
                "filter_calls": filter_calls,
                "gso_split": gso_split,
                "impairments": impairments,
                "queue_bytes": queue_bytes,
                "queue_packets": queue_packets,
                "reordered": reordered,
                "rx_bytes": rx_bytes,
                "rx_packets": rx_packets,
                "shaped": shaped,
                "tx_bytes": tx_bytes,
                "tx_packets": tx_packets,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dir_live_drops import DirLiveDrops

        d = dict(src_dict)
        corrupted = d.pop("corrupted")

        delay_line_packets = d.pop("delay_line_packets")

        delayed = d.pop("delayed")

        drops = DirLiveDrops.from_dict(d.pop("drops"))

        duplicated = d.pop("duplicated")

        faulted = d.pop("faulted")

        faults = cast(list[int], d.pop("faults"))

        filter_calls = d.pop("filter_calls")

        gso_split = d.pop("gso_split")

        impairments = d.pop("impairments")

        queue_bytes = d.pop("queue_bytes")

        queue_packets = d.pop("queue_packets")

        reordered = d.pop("reordered")

        rx_bytes = d.pop("rx_bytes")

        rx_packets = d.pop("rx_packets")

        shaped = d.pop("shaped")

        tx_bytes = d.pop("tx_bytes")

        tx_packets = d.pop("tx_packets")

        dir_live = cls(
            corrupted=corrupted,
            delay_line_packets=delay_line_packets,
            delayed=delayed,
            drops=drops,
            duplicated=duplicated,
            faulted=faulted,
            faults=faults,
            filter_calls=filter_calls,
            gso_split=gso_split,
            impairments=impairments,
            queue_bytes=queue_bytes,
            queue_packets=queue_packets,
            reordered=reordered,
            rx_bytes=rx_bytes,
            rx_packets=rx_packets,
            shaped=shaped,
            tx_bytes=tx_bytes,
            tx_packets=tx_packets,
        )

        dir_live.additional_properties = d
        return dir_live

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
