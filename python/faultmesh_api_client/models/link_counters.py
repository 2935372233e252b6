from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.dir_live import DirLive


T = TypeVar("T", bound="LinkCounters")


@_attrs_define
class LinkCounters:
    """One link's counters, per direction.

    Attributes:
        a (str): End a.
        a_to_b (DirLive): Live state of one link direction: counters, queues, what is in force.
        b (str): End b.
        b_to_a (DirLive): Live state of one link direction: counters, queues, what is in force.
        name (str): Name.
    """

    a: str
    a_to_b: DirLive
    b: str
    b_to_a: DirLive
    name: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        a = self.a

        a_to_b = self.a_to_b.to_dict()

        b = self.b

        b_to_a = self.b_to_a.to_dict()

        name = self.name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "a": a,
                "a_to_b": a_to_b,
                "b": b,
                "b_to_a": b_to_a,
                "name": name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dir_live import DirLive

        d = dict(src_dict)
        a = d.pop("a")

        a_to_b = DirLive.from_dict(d.pop("a_to_b"))

        b = d.pop("b")

        b_to_a = DirLive.from_dict(d.pop("b_to_a"))

        name = d.pop("name")

        link_counters = cls(
            a=a,
            a_to_b=a_to_b,
            b=b,
            b_to_a=b_to_a,
            name=name,
        )

        link_counters.additional_properties = d
        return link_counters

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
