from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.dir_live import DirLive
    from ..models.impairments import Impairments


T = TypeVar("T", bound="DirView")


@_attrs_define
class DirView:
    """One direction of a link.

    Attributes:
        configured (Impairments): Impairments of one direction as configured (map form; absent: none).
        live (DirLive | None | Unset):
    """

    configured: Impairments
    live: DirLive | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.dir_live import DirLive

        configured = self.configured.to_dict()

        live: dict[str, Any] | None | Unset
        if isinstance(self.live, Unset):
            live = UNSET
        elif isinstance(self.live, DirLive):
            live = self.live.to_dict()
        else:
            live = self.live

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "configured": configured,
            }
        )
        if live is not UNSET:
            field_dict["live"] = live

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dir_live import DirLive
        from ..models.impairments import Impairments

        d = dict(src_dict)
        configured = Impairments.from_dict(d.pop("configured"))

        def _parse_live(data: object) -> DirLive | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                live_type_0 = DirLive.from_dict(data)

                return live_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DirLive | None | Unset, data)

        live = _parse_live(d.pop("live", UNSET))

        dir_view = cls(
            configured=configured,
            live=live,
        )

        dir_view.additional_properties = d
        return dir_view

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
