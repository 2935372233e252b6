from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Diagnostic")


@_attrs_define
class Diagnostic:
    """One topology problem (as `faultmesh validate` reports it).

    Attributes:
        column (int): 1-based column (0: unknown).
        len_ (int): Characters to underline.
        line (int): 1-based line (0: unknown).
        message (str): What is wrong.
        hint (str | Unset): How to fix it.
    """

    column: int
    len_: int
    line: int
    message: str
    hint: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        column = self.column

        len_ = self.len_

        line = self.line

        message = self.message

        hint = self.hint

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "column": column,
                "len": len_,
                "line": line,
                "message": message,
            }
        )
        if hint is not UNSET:
            field_dict["hint"] = hint

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        column = d.pop("column")

        len_ = d.pop("len")

        line = d.pop("line")

        message = d.pop("message")

        hint = d.pop("hint", UNSET)

        diagnostic = cls(
            column=column,
            len_=len_,
            line=line,
            message=message,
            hint=hint,
        )

        diagnostic.additional_properties = d
        return diagnostic

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
