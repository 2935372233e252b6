from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="LoopStats")


@_attrs_define
class LoopStats:
    """Data-plane loop counters.

    Attributes:
        deadlines (int): Deadlines served.
        lateness_max_ns (int): Worst release lateness (ns).
        wakeups (int): Times the loop woke up.
    """

    deadlines: int
    lateness_max_ns: int
    wakeups: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        deadlines = self.deadlines

        lateness_max_ns = self.lateness_max_ns

        wakeups = self.wakeups

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "deadlines": deadlines,
                "lateness_max_ns": lateness_max_ns,
                "wakeups": wakeups,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        deadlines = d.pop("deadlines")

        lateness_max_ns = d.pop("lateness_max_ns")

        wakeups = d.pop("wakeups")

        loop_stats = cls(
            deadlines=deadlines,
            lateness_max_ns=lateness_max_ns,
            wakeups=wakeups,
        )

        loop_stats.additional_properties = d
        return loop_stats

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
