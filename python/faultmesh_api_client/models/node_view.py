from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.node_traffic import NodeTraffic
    from ..models.node_view_container_type_0 import NodeViewContainerType0
    from ..models.node_view_labels import NodeViewLabels


T = TypeVar("T", bound="NodeView")


@_attrs_define
class NodeView:
    """A node.

    Attributes:
        addresses (list[str]): Addresses.
        faults (list[int]): Faults that affect it (on its link, or partitions including it).
        kind (str): host, attach, tun, tap or container.
        labels (NodeViewLabels): Labels.
        link (str): Its link.
        name (str): Name.
        container (NodeViewContainerType0 | None | Unset): Container nodes: what faultmesh last saw of the container
            (`state`:
            `wired`, `stopped`, `gone` or `error`; `pid`; `rewired`: how often it
            was re-wired after a restart; `message`). Absent for other kinds.
        interface (None | str | Unset): Its interface.
        netns (None | str | Unset): Its namespace (if any).
        traffic (NodeTraffic | None | Unset):
    """

    addresses: list[str]
    faults: list[int]
    kind: str
    labels: NodeViewLabels
    link: str
    name: str
    container: NodeViewContainerType0 | None | Unset = UNSET
    interface: None | str | Unset = UNSET
    netns: None | str | Unset = UNSET
    traffic: NodeTraffic | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.node_traffic import NodeTraffic
        from ..models.node_view_container_type_0 import NodeViewContainerType0

        addresses = self.addresses

        faults = self.faults

        kind = self.kind

        labels = self.labels.to_dict()

        link = self.link

        name = self.name

        container: dict[str, Any] | None | Unset
        if isinstance(self.container, Unset):
            container = UNSET
        elif isinstance(self.container, NodeViewContainerType0):
            container = self.container.to_dict()
        else:
            container = self.container

        interface: None | str | Unset
        if isinstance(self.interface, Unset):
            interface = UNSET
        else:
            interface = self.interface

        netns: None | str | Unset
        if isinstance(self.netns, Unset):
            netns = UNSET
        else:
            netns = self.netns

        traffic: dict[str, Any] | None | Unset
        if isinstance(self.traffic, Unset):
            traffic = UNSET
        elif isinstance(self.traffic, NodeTraffic):
            traffic = self.traffic.to_dict()
        else:
            traffic = self.traffic

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "addresses": addresses,
                "faults": faults,
                "kind": kind,
                "labels": labels,
                "link": link,
                "name": name,
            }
        )
        if container is not UNSET:
            field_dict["container"] = container
        if interface is not UNSET:
            field_dict["interface"] = interface
        if netns is not UNSET:
            field_dict["netns"] = netns
        if traffic is not UNSET:
            field_dict["traffic"] = traffic

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.node_traffic import NodeTraffic
        from ..models.node_view_container_type_0 import NodeViewContainerType0
        from ..models.node_view_labels import NodeViewLabels

        d = dict(src_dict)
        addresses = cast(list[str], d.pop("addresses"))

        faults = cast(list[int], d.pop("faults"))

        kind = d.pop("kind")

        labels = NodeViewLabels.from_dict(d.pop("labels"))

        link = d.pop("link")

        name = d.pop("name")

        def _parse_container(data: object) -> NodeViewContainerType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                container_type_0 = NodeViewContainerType0.from_dict(data)

                return container_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NodeViewContainerType0 | None | Unset, data)

        container = _parse_container(d.pop("container", UNSET))

        def _parse_interface(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        interface = _parse_interface(d.pop("interface", UNSET))

        def _parse_netns(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        netns = _parse_netns(d.pop("netns", UNSET))

        def _parse_traffic(data: object) -> NodeTraffic | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                traffic_type_0 = NodeTraffic.from_dict(data)

                return traffic_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NodeTraffic | None | Unset, data)

        traffic = _parse_traffic(d.pop("traffic", UNSET))

        node_view = cls(
            addresses=addresses,
            faults=faults,
            kind=kind,
            labels=labels,
            link=link,
            name=name,
            container=container,
            interface=interface,
            netns=netns,
            traffic=traffic,
        )

        node_view.additional_properties = d
        return node_view

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
