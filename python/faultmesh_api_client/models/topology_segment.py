from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.topology_segment_labels import TopologySegmentLabels
    from ..models.topology_segment_script import TopologySegmentScript


T = TypeVar("T", bound="TopologySegment")


@_attrs_define
class TopologySegment:
    """A segment of the topology.

    Attributes:
        kind (str): `switch` or `router`.
        addresses (list[str] | Unset): router: its addresses.
        labels (TopologySegmentLabels | Unset): Labels.
        script (TopologySegmentScript | Unset): Its Lua script.
    """

    kind: str
    addresses: list[str] | Unset = UNSET
    labels: TopologySegmentLabels | Unset = UNSET
    script: TopologySegmentScript | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        addresses: list[str] | Unset = UNSET
        if not isinstance(self.addresses, Unset):
            addresses = self.addresses

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
                "kind": kind,
            }
        )
        if addresses is not UNSET:
            field_dict["addresses"] = addresses
        if labels is not UNSET:
            field_dict["labels"] = labels
        if script is not UNSET:
            field_dict["script"] = script

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.topology_segment_labels import TopologySegmentLabels
        from ..models.topology_segment_script import TopologySegmentScript

        d = dict(src_dict)
        kind = d.pop("kind")

        addresses = cast(list[str], d.pop("addresses", UNSET))

        _labels = d.pop("labels", UNSET)
        labels: TopologySegmentLabels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = TopologySegmentLabels.from_dict(_labels)

        _script = d.pop("script", UNSET)
        script: TopologySegmentScript | Unset
        if isinstance(_script, Unset):
            script = UNSET
        else:
            script = TopologySegmentScript.from_dict(_script)

        topology_segment = cls(
            kind=kind,
            addresses=addresses,
            labels=labels,
            script=script,
        )

        topology_segment.additional_properties = d
        return topology_segment

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
