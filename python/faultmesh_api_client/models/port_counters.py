from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PortCounters")


@_attrs_define
class PortCounters:
    """Device I/O counters of one port.

    Attributes:
        rx_frames (int): Frames received.
        rx_kernel_drops (int): Frames the kernel dropped before the appliance read them.
        rx_malformed (int): Malformed frames at the device level.
        tx_errors (int): Frames the kernel refused.
        tx_frames (int): Frames sent.
    """

    rx_frames: int
    rx_kernel_drops: int
    rx_malformed: int
    tx_errors: int
    tx_frames: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rx_frames = self.rx_frames

        rx_kernel_drops = self.rx_kernel_drops

        rx_malformed = self.rx_malformed

        tx_errors = self.tx_errors

        tx_frames = self.tx_frames

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "rx_frames": rx_frames,
                "rx_kernel_drops": rx_kernel_drops,
                "rx_malformed": rx_malformed,
                "tx_errors": tx_errors,
                "tx_frames": tx_frames,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        rx_frames = d.pop("rx_frames")

        rx_kernel_drops = d.pop("rx_kernel_drops")

        rx_malformed = d.pop("rx_malformed")

        tx_errors = d.pop("tx_errors")

        tx_frames = d.pop("tx_frames")

        port_counters = cls(
            rx_frames=rx_frames,
            rx_kernel_drops=rx_kernel_drops,
            rx_malformed=rx_malformed,
            tx_errors=tx_errors,
            tx_frames=tx_frames,
        )

        port_counters.additional_properties = d
        return port_counters

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
