from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="NodeTraffic")


@_attrs_define
class NodeTraffic:
    """Traffic of a node as the node sees it.

    Attributes:
        malformed (int): Malformed frames from the node.
        received_bytes (int): Bytes delivered to the node.
        received_packets (int): Packets delivered to the node.
        sent_bytes (int): Bytes the node sent.
        sent_packets (int): Packets the node sent.
        tx_dropped (int): Frames to the node dropped on a full transmit queue.
    """

    malformed: int
    received_bytes: int
    received_packets: int
    sent_bytes: int
    sent_packets: int
    tx_dropped: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        malformed = self.malformed

        received_bytes = self.received_bytes

        received_packets = self.received_packets

        sent_bytes = self.sent_bytes

        sent_packets = self.sent_packets

        tx_dropped = self.tx_dropped

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "malformed": malformed,
                "received_bytes": received_bytes,
                "received_packets": received_packets,
                "sent_bytes": sent_bytes,
                "sent_packets": sent_packets,
                "tx_dropped": tx_dropped,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        malformed = d.pop("malformed")

        received_bytes = d.pop("received_bytes")

        received_packets = d.pop("received_packets")

        sent_bytes = d.pop("sent_bytes")

        sent_packets = d.pop("sent_packets")

        tx_dropped = d.pop("tx_dropped")

        node_traffic = cls(
            malformed=malformed,
            received_bytes=received_bytes,
            received_packets=received_packets,
            sent_bytes=sent_bytes,
            sent_packets=sent_packets,
            tx_dropped=tx_dropped,
        )

        node_traffic.additional_properties = d
        return node_traffic

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
