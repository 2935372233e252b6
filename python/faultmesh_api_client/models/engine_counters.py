from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.link_counters import LinkCounters
    from ..models.node_counters import NodeCounters
    from ..models.segment_counters import SegmentCounters


T = TypeVar("T", bound="EngineCounters")


@_attrs_define
class EngineCounters:
    """Engine counters at one instant.

    Attributes:
        at_ns (int): Engine time of the copy (ns).
        links (list[LinkCounters]): Per link.
        nodes (list[NodeCounters]): Per node.
        segments (list[SegmentCounters]): Per segment.
    """

    at_ns: int
    links: list[LinkCounters]
    nodes: list[NodeCounters]
    segments: list[SegmentCounters]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at_ns = self.at_ns

        links = []
        for links_item_data in self.links:
            links_item = links_item_data.to_dict()
            links.append(links_item)

        nodes = []
        for nodes_item_data in self.nodes:
            nodes_item = nodes_item_data.to_dict()
            nodes.append(nodes_item)

        segments = []
        for segments_item_data in self.segments:
            segments_item = segments_item_data.to_dict()
            segments.append(segments_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at_ns": at_ns,
                "links": links,
                "nodes": nodes,
                "segments": segments,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.link_counters import LinkCounters
        from ..models.node_counters import NodeCounters
        from ..models.segment_counters import SegmentCounters

        d = dict(src_dict)
        at_ns = d.pop("at_ns")

        links = []
        _links = d.pop("links")
        for links_item_data in _links:
            links_item = LinkCounters.from_dict(links_item_data)

            links.append(links_item)

        nodes = []
        _nodes = d.pop("nodes")
        for nodes_item_data in _nodes:
            nodes_item = NodeCounters.from_dict(nodes_item_data)

            nodes.append(nodes_item)

        segments = []
        _segments = d.pop("segments")
        for segments_item_data in _segments:
            segments_item = SegmentCounters.from_dict(segments_item_data)

            segments.append(segments_item)

        engine_counters = cls(
            at_ns=at_ns,
            links=links,
            nodes=nodes,
            segments=segments,
        )

        engine_counters.additional_properties = d
        return engine_counters

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
