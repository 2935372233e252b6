from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.impairments import Impairments
    from ..models.topology_link_labels import TopologyLinkLabels
    from ..models.topology_link_script import TopologyLinkScript


T = TypeVar("T", bound="TopologyLink")


@_attrs_define
class TopologyLink:
    """A link of the topology.

    Attributes:
        a (str): End a (node or segment).
        b (str): End b.
        a_to_b (Impairments | Unset): Impairments of one direction as configured (map form; absent: none).
        b_to_a (Impairments | Unset): Impairments of one direction as configured (map form; absent: none).
        labels (TopologyLinkLabels | Unset): Labels.
        script (TopologyLinkScript | Unset): Its Lua script.
    """

    a: str
    b: str
    a_to_b: Impairments | Unset = UNSET
    b_to_a: Impairments | Unset = UNSET
    labels: TopologyLinkLabels | Unset = UNSET
    script: TopologyLinkScript | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        a = self.a

        b = self.b

        a_to_b: dict[str, Any] | Unset = UNSET
        if not isinstance(self.a_to_b, Unset):
            a_to_b = self.a_to_b.to_dict()

        b_to_a: dict[str, Any] | Unset = UNSET
        if not isinstance(self.b_to_a, Unset):
            b_to_a = self.b_to_a.to_dict()

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        script: dict[str, Any] | Unset = UNSET
        if not isinstance(self.script, Unset):
            script = self.script.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "a": a,
                "b": b,
            }
        )
        if a_to_b is not UNSET:
            field_dict["a_to_b"] = a_to_b
        if b_to_a is not UNSET:
            field_dict["b_to_a"] = b_to_a
        if labels is not UNSET:
            field_dict["labels"] = labels
        if script is not UNSET:
            field_dict["script"] = script

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.impairments import Impairments
        from ..models.topology_link_labels import TopologyLinkLabels
        from ..models.topology_link_script import TopologyLinkScript

        d = dict(src_dict)
        a = d.pop("a")

        b = d.pop("b")

        _a_to_b = d.pop("a_to_b", UNSET)
        a_to_b: Impairments | Unset
        if isinstance(_a_to_b, Unset):
            a_to_b = UNSET
        else:
            a_to_b = Impairments.from_dict(_a_to_b)

        _b_to_a = d.pop("b_to_a", UNSET)
        b_to_a: Impairments | Unset
        if isinstance(_b_to_a, Unset):
            b_to_a = UNSET
        else:
            b_to_a = Impairments.from_dict(_b_to_a)

        _labels = d.pop("labels", UNSET)
        labels: TopologyLinkLabels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = TopologyLinkLabels.from_dict(_labels)

        _script = d.pop("script", UNSET)
        script: TopologyLinkScript | Unset
        if isinstance(_script, Unset):
            script = UNSET
        else:
            script = TopologyLinkScript.from_dict(_script)

        topology_link = cls(
            a=a,
            b=b,
            a_to_b=a_to_b,
            b_to_a=b_to_a,
            labels=labels,
            script=script,
        )

        topology_link.additional_properties = d
        return topology_link

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
