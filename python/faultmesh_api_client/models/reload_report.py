from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ReloadReport")


@_attrs_define
class ReloadReport:
    """What a reload changed.

    Attributes:
        links_added (list[str]): New (or rebuilt) links.
        links_changed (list[str]): Links carried over with new impairments.
        links_kept (list[str]): Links carried over untouched (queues, buckets and counters kept).
        links_removed (list[str]): Links that are gone.
        nodes_added (list[str]): Nodes added.
        nodes_removed (list[str]): Nodes removed.
        packets_dropped (int): Packets queued on removed links, dropped.
    """

    links_added: list[str]
    links_changed: list[str]
    links_kept: list[str]
    links_removed: list[str]
    nodes_added: list[str]
    nodes_removed: list[str]
    packets_dropped: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        links_added = self.links_added

        links_changed = self.links_changed

        links_kept = self.links_kept

        links_removed = self.links_removed

        nodes_added = self.nodes_added

        nodes_removed = self.nodes_removed

        packets_dropped = self.packets_dropped

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "links_added": links_added,
                "links_changed": links_changed,
                "links_kept": links_kept,
                "links_removed": links_removed,
                "nodes_added": nodes_added,
                "nodes_removed": nodes_removed,
                "packets_dropped": packets_dropped,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        links_added = cast(list[str], d.pop("links_added"))

        links_changed = cast(list[str], d.pop("links_changed"))

        links_kept = cast(list[str], d.pop("links_kept"))

        links_removed = cast(list[str], d.pop("links_removed"))

        nodes_added = cast(list[str], d.pop("nodes_added"))

        nodes_removed = cast(list[str], d.pop("nodes_removed"))

        packets_dropped = d.pop("packets_dropped")

        reload_report = cls(
            links_added=links_added,
            links_changed=links_changed,
            links_kept=links_kept,
            links_removed=links_removed,
            nodes_added=nodes_added,
            nodes_removed=nodes_removed,
            packets_dropped=packets_dropped,
        )

        reload_report.additional_properties = d
        return reload_report

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
