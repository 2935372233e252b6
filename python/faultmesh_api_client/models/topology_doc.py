from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.topology_doc_links import TopologyDocLinks
    from ..models.topology_doc_nodes import TopologyDocNodes
    from ..models.topology_doc_segments import TopologyDocSegments
    from ..models.topology_route import TopologyRoute


T = TypeVar("T", bound="TopologyDoc")


@_attrs_define
class TopologyDoc:
    """The running topology, in the shape of a topology file (JSON).

    Attributes:
        links (TopologyDocLinks): Links by name.
        name (str): Name (namespaces are `fm-<name>-<node>` unless `--prefix`).
        nodes (TopologyDocNodes): Nodes by name.
        seed (int): Seed of every random decision.
        segments (TopologyDocSegments): Segments by name.
        description (str | Unset): Free text.
        routes (list[TopologyRoute] | Unset): Prefixes behind nodes.
    """

    links: TopologyDocLinks
    name: str
    nodes: TopologyDocNodes
    seed: int
    segments: TopologyDocSegments
    description: str | Unset = UNSET
    routes: list[TopologyRoute] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        links = self.links.to_dict()

        name = self.name

        nodes = self.nodes.to_dict()

        seed = self.seed

        segments = self.segments.to_dict()

        description = self.description

        routes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.routes, Unset):
            routes = []
            for routes_item_data in self.routes:
                routes_item = routes_item_data.to_dict()
                routes.append(routes_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "links": links,
                "name": name,
                "nodes": nodes,
                "seed": seed,
                "segments": segments,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if routes is not UNSET:
            field_dict["routes"] = routes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.topology_doc_links import TopologyDocLinks
        from ..models.topology_doc_nodes import TopologyDocNodes
        from ..models.topology_doc_segments import TopologyDocSegments
        from ..models.topology_route import TopologyRoute

        d = dict(src_dict)
        links = TopologyDocLinks.from_dict(d.pop("links"))

        name = d.pop("name")

        nodes = TopologyDocNodes.from_dict(d.pop("nodes"))

        seed = d.pop("seed")

        segments = TopologyDocSegments.from_dict(d.pop("segments"))

        description = d.pop("description", UNSET)

        _routes = d.pop("routes", UNSET)
        routes: list[TopologyRoute] | Unset = UNSET
        if _routes is not UNSET:
            routes = []
            for routes_item_data in _routes:
                routes_item = TopologyRoute.from_dict(routes_item_data)

                routes.append(routes_item)

        topology_doc = cls(
            links=links,
            name=name,
            nodes=nodes,
            seed=seed,
            segments=segments,
            description=description,
            routes=routes,
        )

        topology_doc.additional_properties = d
        return topology_doc

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
