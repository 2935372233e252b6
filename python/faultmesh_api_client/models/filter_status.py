from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.filter_status_verdicts import FilterStatusVerdicts


T = TypeVar("T", bound="FilterStatus")


@_attrs_define
class FilterStatus:
    """A script filter on one link direction, with its counters.

    Attributes:
        calls (int): Calls.
        direction (str): `a_to_b` or `b_to_a`.
        disabled (bool): Disabled after a failure: packets get the fallback verdict.
        errors (int): Failures (errors, limits, bad verdicts).
        fingerprint (int): Identifies its configuration.
        link (str): The link.
        script (str): What runs (e.g. the script file).
        time_ns (int): Time spent in calls, ns.
        verdicts (FilterStatusVerdicts): Verdicts by kind (`pass`, `drop`, `delay`, …, `fallback`).
        last_error (None | str | Unset): The failure that disabled it.
    """

    calls: int
    direction: str
    disabled: bool
    errors: int
    fingerprint: int
    link: str
    script: str
    time_ns: int
    verdicts: FilterStatusVerdicts
    last_error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        calls = self.calls

        direction = self.direction

        disabled = self.disabled

        errors = self.errors

        fingerprint = self.fingerprint

        link = self.link

        script = self.script

        time_ns = self.time_ns

        verdicts = self.verdicts.to_dict()

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "calls": calls,
                "direction": direction,
                "disabled": disabled,
                "errors": errors,
                "fingerprint": fingerprint,
                "link": link,
                "script": script,
                "time_ns": time_ns,
                "verdicts": verdicts,
            }
        )
        if last_error is not UNSET:
            field_dict["last_error"] = last_error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.filter_status_verdicts import FilterStatusVerdicts

        d = dict(src_dict)
        calls = d.pop("calls")

        direction = d.pop("direction")

        disabled = d.pop("disabled")

        errors = d.pop("errors")

        fingerprint = d.pop("fingerprint")

        link = d.pop("link")

        script = d.pop("script")

        time_ns = d.pop("time_ns")

        verdicts = FilterStatusVerdicts.from_dict(d.pop("verdicts"))

        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))

        filter_status = cls(
            calls=calls,
            direction=direction,
            disabled=disabled,
            errors=errors,
            fingerprint=fingerprint,
            link=link,
            script=script,
            time_ns=time_ns,
            verdicts=verdicts,
            last_error=last_error,
        )

        filter_status.additional_properties = d
        return filter_status

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
