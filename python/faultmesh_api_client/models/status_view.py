from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.dataplane_view import DataplaneView


T = TypeVar("T", bound="StatusView")


@_attrs_define
class StatusView:
    """Appliance status.

    Attributes:
        faults (int): Faults defined.
        links (int): Links.
        nodes (int): Number of nodes, segments, links.
        segments (int): Segments.
        started_ms (int): Start time (ms since epoch).
        topology (str): Topology name.
        dataplane (DataplaneView | None | Unset):
    """

    faults: int
    links: int
    nodes: int
    segments: int
    started_ms: int
    topology: str
    dataplane: DataplaneView | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.dataplane_view import DataplaneView

        faults = self.faults

        links = self.links

        nodes = self.nodes

        segments = self.segments

        started_ms = self.started_ms

        topology = self.topology

        dataplane: dict[str, Any] | None | Unset
        if isinstance(self.dataplane, Unset):
            dataplane = UNSET
        elif isinstance(self.dataplane, DataplaneView):
            dataplane = self.dataplane.to_dict()
        else:
            dataplane = self.dataplane

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "faults": faults,
                "links": links,
                "nodes": nodes,
                "segments": segments,
                "started_ms": started_ms,
                "topology": topology,
            }
        )
        if dataplane is not UNSET:
            field_dict["dataplane"] = dataplane

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dataplane_view import DataplaneView

        d = dict(src_dict)
        faults = d.pop("faults")

        links = d.pop("links")

        nodes = d.pop("nodes")

        segments = d.pop("segments")

        started_ms = d.pop("started_ms")

        topology = d.pop("topology")

        def _parse_dataplane(data: object) -> DataplaneView | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                dataplane_type_0 = DataplaneView.from_dict(data)

                return dataplane_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DataplaneView | None | Unset, data)

        dataplane = _parse_dataplane(d.pop("dataplane", UNSET))

        status_view = cls(
            faults=faults,
            links=links,
            nodes=nodes,
            segments=segments,
            started_ms=started_ms,
            topology=topology,
            dataplane=dataplane,
        )

        status_view.additional_properties = d
        return status_view

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
