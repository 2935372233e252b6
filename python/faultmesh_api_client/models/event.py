from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.event_detail import EventDetail


T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """One change.

    Attributes:
        action (str): What: `topology.reload`, `link.patch`, `fault.create`, `fault.expire`,
            `fault.delete`, `fault.killswitch`, `script.error`, …
        actor (str): Who: `api:<client address>` (or the `X-Faultmesh-Actor` header), `system`.
        detail (EventDetail): Details of the change.
        seq (int): Sequence number, increasing.
        time_ms (int): Wall-clock time, milliseconds since the Unix epoch.
    """

    action: str
    actor: str
    detail: EventDetail
    seq: int
    time_ms: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        action = self.action

        actor = self.actor

        detail = self.detail.to_dict()

        seq = self.seq

        time_ms = self.time_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "action": action,
                "actor": actor,
                "detail": detail,
                "seq": seq,
                "time_ms": time_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.event_detail import EventDetail

        d = dict(src_dict)
        action = d.pop("action")

        actor = d.pop("actor")

        detail = EventDetail.from_dict(d.pop("detail"))

        seq = d.pop("seq")

        time_ms = d.pop("time_ms")

        event = cls(
            action=action,
            actor=actor,
            detail=detail,
            seq=seq,
            time_ms=time_ms,
        )

        event.additional_properties = d
        return event

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
