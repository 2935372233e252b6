from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.distribution import Distribution
from ..types import UNSET, Unset

T = TypeVar("T", bound="DelayMap")


@_attrs_define
class DelayMap:
    """A delay in map form (as the API answers it; also accepted as input).

    Attributes:
        time (str): Mean delay, e.g. `20ms`.
        correlation (str | Unset): Correlation with the previous packet's jitter, e.g. `25%`.
        distribution (Distribution | Unset): A jitter distribution.
        jitter (str | Unset): Jitter (standard deviation; uniform: ±jitter), e.g. `2ms`.
        limit (int | Unset): Delay-line capacity in packets.
        reorder (bool | Unset): Whether jitter may reorder packets.
    """

    time: str
    correlation: str | Unset = UNSET
    distribution: Distribution | Unset = UNSET
    jitter: str | Unset = UNSET
    limit: int | Unset = UNSET
    reorder: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        time = self.time

        correlation = self.correlation

        distribution: str | Unset = UNSET
        if not isinstance(self.distribution, Unset):
            distribution = self.distribution.value

        jitter = self.jitter

        limit = self.limit

        reorder = self.reorder

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "time": time,
            }
        )
        if correlation is not UNSET:
            field_dict["correlation"] = correlation
        if distribution is not UNSET:
            field_dict["distribution"] = distribution
        if jitter is not UNSET:
            field_dict["jitter"] = jitter
        if limit is not UNSET:
            field_dict["limit"] = limit
        if reorder is not UNSET:
            field_dict["reorder"] = reorder

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        time = d.pop("time")

        correlation = d.pop("correlation", UNSET)

        _distribution = d.pop("distribution", UNSET)
        distribution: Distribution | Unset
        if isinstance(_distribution, Unset):
            distribution = UNSET
        else:
            distribution = Distribution(_distribution)

        jitter = d.pop("jitter", UNSET)

        limit = d.pop("limit", UNSET)

        reorder = d.pop("reorder", UNSET)

        delay_map = cls(
            time=time,
            correlation=correlation,
            distribution=distribution,
            jitter=jitter,
            limit=limit,
            reorder=reorder,
        )

        delay_map.additional_properties = d
        return delay_map

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
