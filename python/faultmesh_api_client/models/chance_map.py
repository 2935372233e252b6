from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ChanceMap")


@_attrs_define
class ChanceMap:
    """A (correlated) probability in map form.

    Attributes:
        percent (str): E.g. `0.1%`.
        correlation (str | Unset): Correlation, e.g. `25%`.
    """

    percent: str
    correlation: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        percent = self.percent

        correlation = self.correlation

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "percent": percent,
            }
        )
        if correlation is not UNSET:
            field_dict["correlation"] = correlation

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        percent = d.pop("percent")

        correlation = d.pop("correlation", UNSET)

        chance_map = cls(
            percent=percent,
            correlation=correlation,
        )

        chance_map.additional_properties = d
        return chance_map

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
