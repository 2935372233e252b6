from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.topology_node_labels import TopologyNodeLabels


T = TypeVar("T", bound="TopologyNode")


@_attrs_define
class TopologyNode:
    """A node of the topology.

    Attributes:
        kind (str): `host`, `attach`, `tun` or `tap`.
        addresses (list[str] | Unset): Addresses with prefix length.
        device (str | Unset): host: `veth`, `tun` or `tap`; tun/tap: the device name.
        gateway (list[str] | Unset): Default gateways.
        interface (str | Unset): attach: the interface taken.
        labels (TopologyNodeLabels | Unset): Labels.
        mac (str | Unset): MAC address.
        mtu (int | Unset): MTU.
        netns (str | Unset): Its namespace, when not the one faultmesh makes.
    """

    kind: str
    addresses: list[str] | Unset = UNSET
    device: str | Unset = UNSET
    gateway: list[str] | Unset = UNSET
    interface: str | Unset = UNSET
    labels: TopologyNodeLabels | Unset = UNSET
    mac: str | Unset = UNSET
    mtu: int | Unset = UNSET
    netns: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        addresses: list[str] | Unset = UNSET
        if not isinstance(self.addresses, Unset):
            addresses = self.addresses

        device = self.device

        gateway: list[str] | Unset = UNSET
        if not isinstance(self.gateway, Unset):
            gateway = self.gateway

        interface = self.interface

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        mac = self.mac

        mtu = self.mtu

        netns = self.netns

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
            }
        )
        if addresses is not UNSET:
            field_dict["addresses"] = addresses
        if device is not UNSET:
            field_dict["device"] = device
        if gateway is not UNSET:
            field_dict["gateway"] = gateway
        if interface is not UNSET:
            field_dict["interface"] = interface
        if labels is not UNSET:
            field_dict["labels"] = labels
        if mac is not UNSET:
            field_dict["mac"] = mac
        if mtu is not UNSET:
            field_dict["mtu"] = mtu
        if netns is not UNSET:
            field_dict["netns"] = netns

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.topology_node_labels import TopologyNodeLabels

        d = dict(src_dict)
        kind = d.pop("kind")

        addresses = cast(list[str], d.pop("addresses", UNSET))

        device = d.pop("device", UNSET)

        gateway = cast(list[str], d.pop("gateway", UNSET))

        interface = d.pop("interface", UNSET)

        _labels = d.pop("labels", UNSET)
        labels: TopologyNodeLabels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = TopologyNodeLabels.from_dict(_labels)

        mac = d.pop("mac", UNSET)

        mtu = d.pop("mtu", UNSET)

        netns = d.pop("netns", UNSET)

        topology_node = cls(
            kind=kind,
            addresses=addresses,
            device=device,
            gateway=gateway,
            interface=interface,
            labels=labels,
            mac=mac,
            mtu=mtu,
            netns=netns,
        )

        topology_node.additional_properties = d
        return topology_node

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
