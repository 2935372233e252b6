from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RateMap")


@_attrs_define
class RateMap:
    """A rate limit in map form.

    Attributes:
        rate (str): The rate, e.g. `100mbit`.
        burst (str | Unset): Bucket size, e.g. `32kb`.
        overhead (int | Unset): Per-packet overhead in bytes.
        queue (int | Unset): Queue limit in packets.
        queue_bytes (str | Unset): Queue limit in bytes, e.g. `1mb`.
    """

    rate: str
    burst: str | Unset = UNSET
    overhead: int | Unset = UNSET
    queue: int | Unset = UNSET
    queue_bytes: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rate = self.rate

        burst = self.burst

        overhead = self.overhead

        queue = self.queue

        queue_bytes = self.queue_bytes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "rate": rate,
            }
        )
        if burst is not UNSET:
            field_dict["burst"] = burst
        if overhead is not UNSET:
            field_dict["overhead"] = overhead
        if queue is not UNSET:
            field_dict["queue"] = queue
        if queue_bytes is not UNSET:
            field_dict["queue_bytes"] = queue_bytes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        rate = d.pop("rate")

        burst = d.pop("burst", UNSET)

        overhead = d.pop("overhead", UNSET)

        queue = d.pop("queue", UNSET)

        queue_bytes = d.pop("queue_bytes", UNSET)

        rate_map = cls(
            rate=rate,
            burst=burst,
            overhead=overhead,
            queue=queue,
            queue_bytes=queue_bytes,
        )

        rate_map.additional_properties = d
        return rate_map

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
