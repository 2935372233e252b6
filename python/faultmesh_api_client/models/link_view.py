from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.dir_view import DirView
    from ..models.link_view_labels import LinkViewLabels


T = TypeVar("T", bound="LinkView")


@_attrs_define
class LinkView:
    """A link.

    Attributes:
        a (str): End a.
        a_to_b (DirView): One direction of a link.
        b (str): End b.
        b_to_a (DirView): One direction of a link.
        labels (LinkViewLabels): Labels.
        name (str): Name.
    """

    a: str
    a_to_b: DirView
    b: str
    b_to_a: DirView
    labels: LinkViewLabels
    name: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        a = self.a

        a_to_b = self.a_to_b.to_dict()

        b = self.b

        b_to_a = self.b_to_a.to_dict()

        labels = self.labels.to_dict()

        name = self.name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "a": a,
                "a_to_b": a_to_b,
                "b": b,
                "b_to_a": b_to_a,
                "labels": labels,
                "name": name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dir_view import DirView
        from ..models.link_view_labels import LinkViewLabels

        d = dict(src_dict)
        a = d.pop("a")

        a_to_b = DirView.from_dict(d.pop("a_to_b"))

        b = d.pop("b")

        b_to_a = DirView.from_dict(d.pop("b_to_a"))

        labels = LinkViewLabels.from_dict(d.pop("labels"))

        name = d.pop("name")

        link_view = cls(
            a=a,
            a_to_b=a_to_b,
            b=b,
            b_to_a=b_to_a,
            labels=labels,
            name=name,
        )

        link_view.additional_properties = d
        return link_view

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
