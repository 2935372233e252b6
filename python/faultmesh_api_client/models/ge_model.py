from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GeModel")


@_attrs_define
class GeModel:
    """Gilbert-Elliott loss parameters.

    Attributes:
        p (str): Good → bad transition probability, e.g. `1%`.
        field_1_h (str | Unset): Delivery probability in the bad state (netem `1-h`).
        field_1_k (str | Unset): Loss probability in the good state (netem `1-k`).
        r (str | Unset): Bad → good, default `100% − p`.
    """

    p: str
    field_1_h: str | Unset = UNSET
    field_1_k: str | Unset = UNSET
    r: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        p = self.p

        field_1_h = self.field_1_h

        field_1_k = self.field_1_k

        r = self.r

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "p": p,
            }
        )
        if field_1_h is not UNSET:
            field_dict["1-h"] = field_1_h
        if field_1_k is not UNSET:
            field_dict["1-k"] = field_1_k
        if r is not UNSET:
            field_dict["r"] = r

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        p = d.pop("p")

        field_1_h = d.pop("1-h", UNSET)

        field_1_k = d.pop("1-k", UNSET)

        r = d.pop("r", UNSET)

        ge_model = cls(
            p=p,
            field_1_h=field_1_h,
            field_1_k=field_1_k,
            r=r,
        )

        ge_model.additional_properties = d
        return ge_model

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
