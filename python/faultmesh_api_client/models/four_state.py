from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="FourState")


@_attrs_define
class FourState:
    """4-state Markov loss parameters.

    Attributes:
        p13 (str): p13.
        p14 (str | Unset): p14.
        p23 (str | Unset): p23.
        p31 (str | Unset): p31.
        p32 (str | Unset): p32.
    """

    p13: str
    p14: str | Unset = UNSET
    p23: str | Unset = UNSET
    p31: str | Unset = UNSET
    p32: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        p13 = self.p13

        p14 = self.p14

        p23 = self.p23

        p31 = self.p31

        p32 = self.p32

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "p13": p13,
            }
        )
        if p14 is not UNSET:
            field_dict["p14"] = p14
        if p23 is not UNSET:
            field_dict["p23"] = p23
        if p31 is not UNSET:
            field_dict["p31"] = p31
        if p32 is not UNSET:
            field_dict["p32"] = p32

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        p13 = d.pop("p13")

        p14 = d.pop("p14", UNSET)

        p23 = d.pop("p23", UNSET)

        p31 = d.pop("p31", UNSET)

        p32 = d.pop("p32", UNSET)

        four_state = cls(
            p13=p13,
            p14=p14,
            p23=p23,
            p31=p31,
            p32=p32,
        )

        four_state.additional_properties = d
        return four_state

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
