from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DataplaneView")


@_attrs_define
class DataplaneView:
    """How punctually the data plane releases packets.

    Attributes:
        deadlines (int): Release deadlines served.
        lateness_max_us (float): Worst release lateness (µs).
        lateness_p50_us (float): Median release lateness (µs).
        lateness_p99_us (float): 99th-percentile release lateness (µs).
        wakeups (int): Times the loop woke up.
    """

    deadlines: int
    lateness_max_us: float
    lateness_p50_us: float
    lateness_p99_us: float
    wakeups: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        deadlines = self.deadlines

        lateness_max_us = self.lateness_max_us

        lateness_p50_us = self.lateness_p50_us

        lateness_p99_us = self.lateness_p99_us

        wakeups = self.wakeups

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "deadlines": deadlines,
                "lateness_max_us": lateness_max_us,
                "lateness_p50_us": lateness_p50_us,
                "lateness_p99_us": lateness_p99_us,
                "wakeups": wakeups,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        deadlines = d.pop("deadlines")

        lateness_max_us = d.pop("lateness_max_us")

        lateness_p50_us = d.pop("lateness_p50_us")

        lateness_p99_us = d.pop("lateness_p99_us")

        wakeups = d.pop("wakeups")

        dataplane_view = cls(
            deadlines=deadlines,
            lateness_max_us=lateness_max_us,
            lateness_p50_us=lateness_p50_us,
            lateness_p99_us=lateness_p99_us,
            wakeups=wakeups,
        )

        dataplane_view.additional_properties = d
        return dataplane_view

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
