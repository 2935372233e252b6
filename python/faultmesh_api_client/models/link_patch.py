from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.dir_patch import DirPatch


T = TypeVar("T", bound="LinkPatch")


@_attrs_define
class LinkPatch:
    """Changes to a link's impairments.

    Example:
        {'a_to_b': {'loss': '1%', 'rate': {'queue': 200, 'rate': '100mbit'}}, 'b_to_a': {'corrupt': None}, 'both':
            {'delay': '20ms 2ms'}}

    Attributes:
        a_to_b (DirPatch | None | Unset):
        b_to_a (DirPatch | None | Unset):
        both (DirPatch | None | Unset):
    """

    a_to_b: DirPatch | None | Unset = UNSET
    b_to_a: DirPatch | None | Unset = UNSET
    both: DirPatch | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.dir_patch import DirPatch

        a_to_b: dict[str, Any] | None | Unset
        if isinstance(self.a_to_b, Unset):
            a_to_b = UNSET
        elif isinstance(self.a_to_b, DirPatch):
            a_to_b = self.a_to_b.to_dict()
        else:
            a_to_b = self.a_to_b

        b_to_a: dict[str, Any] | None | Unset
        if isinstance(self.b_to_a, Unset):
            b_to_a = UNSET
        elif isinstance(self.b_to_a, DirPatch):
            b_to_a = self.b_to_a.to_dict()
        else:
            b_to_a = self.b_to_a

        both: dict[str, Any] | None | Unset
        if isinstance(self.both, Unset):
            both = UNSET
        elif isinstance(self.both, DirPatch):
            both = self.both.to_dict()
        else:
            both = self.both

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if a_to_b is not UNSET:
            field_dict["a_to_b"] = a_to_b
        if b_to_a is not UNSET:
            field_dict["b_to_a"] = b_to_a
        if both is not UNSET:
            field_dict["both"] = both

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dir_patch import DirPatch

        d = dict(src_dict)

        def _parse_a_to_b(data: object) -> DirPatch | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                a_to_b_type_0 = DirPatch.from_dict(data)

                return a_to_b_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DirPatch | None | Unset, data)

        a_to_b = _parse_a_to_b(d.pop("a_to_b", UNSET))

        def _parse_b_to_a(data: object) -> DirPatch | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                b_to_a_type_0 = DirPatch.from_dict(data)

                return b_to_a_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DirPatch | None | Unset, data)

        b_to_a = _parse_b_to_a(d.pop("b_to_a", UNSET))

        def _parse_both(data: object) -> DirPatch | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                both_type_0 = DirPatch.from_dict(data)

                return both_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DirPatch | None | Unset, data)

        both = _parse_both(d.pop("both", UNSET))

        link_patch = cls(
            a_to_b=a_to_b,
            b_to_a=b_to_a,
            both=both,
        )

        return link_patch
