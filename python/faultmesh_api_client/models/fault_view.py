from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.fault_kind import FaultKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="FaultView")


@_attrs_define
class FaultView:
    """A fault as the API shows it: the request as validated, plus its state.

    Attributes:
        applies_to (list[str]): Where it applies now: `link:direction`, or node names for partitions.
        created_ms (int): Created (ms since epoch).
        id (int): Id.
        kind (FaultKind): The kinds of fault.
        starts_ms (int): Starts (ms since epoch).
        state (str): `pending`, `active` or `expired`.
        delay (None | str | Unset): delay: the added delay.
        direction (None | str | Unset): For link targets: `a_to_b`, `b_to_a` or `both`.
        duty (None | str | Unset): flap: the share of each cycle the link is up.
        expires_ms (int | None | Unset): Expires (ms since epoch), if it has a TTL.
        groups (list[list[str]] | None | Unset): partition: the two groups.
        jitter (None | str | Unset): delay, jitter: the jitter.
        percent (None | str | Unset): loss, corrupt, duplicate, reorder: the rate.
        period (None | str | Unset): flap: the cycle.
        probability (None | str | Unset): Share of packets it applies to.
        rate (None | str | Unset): rate_limit: the cap.
        scenario (None | str | Unset): Scenario label.
        start_in (None | str | Unset): Delay before it started.
        target (None | str | Unset): Where: `link=NAME`, `node=NAME`, `segment=NAME`, `label:KEY=VALUE`, `all` (null for
            partitions).
        ttl (None | str | Unset): Lifetime.
    """

    applies_to: list[str]
    created_ms: int
    id: int
    kind: FaultKind
    starts_ms: int
    state: str
    delay: None | str | Unset = UNSET
    direction: None | str | Unset = UNSET
    duty: None | str | Unset = UNSET
    expires_ms: int | None | Unset = UNSET
    groups: list[list[str]] | None | Unset = UNSET
    jitter: None | str | Unset = UNSET
    percent: None | str | Unset = UNSET
    period: None | str | Unset = UNSET
    probability: None | str | Unset = UNSET
    rate: None | str | Unset = UNSET
    scenario: None | str | Unset = UNSET
    start_in: None | str | Unset = UNSET
    target: None | str | Unset = UNSET
    ttl: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        applies_to = self.applies_to

        created_ms = self.created_ms

        id = self.id

        kind = self.kind.value

        starts_ms = self.starts_ms

        state = self.state

        delay: None | str | Unset
        if isinstance(self.delay, Unset):
            delay = UNSET
        else:
            delay = self.delay

        direction: None | str | Unset
        if isinstance(self.direction, Unset):
            direction = UNSET
        else:
            direction = self.direction

        duty: None | str | Unset
        if isinstance(self.duty, Unset):
            duty = UNSET
        else:
            duty = self.duty

        expires_ms: int | None | Unset
        if isinstance(self.expires_ms, Unset):
            expires_ms = UNSET
        else:
            expires_ms = self.expires_ms

        groups: list[list[str]] | None | Unset
        if isinstance(self.groups, Unset):
            groups = UNSET
        elif isinstance(self.groups, list):
            groups = []
            for groups_type_0_item_data in self.groups:
                groups_type_0_item = groups_type_0_item_data

                groups.append(groups_type_0_item)

        else:
            groups = self.groups

        jitter: None | str | Unset
        if isinstance(self.jitter, Unset):
            jitter = UNSET
        else:
            jitter = self.jitter

        percent: None | str | Unset
        if isinstance(self.percent, Unset):
            percent = UNSET
        else:
            percent = self.percent

        period: None | str | Unset
        if isinstance(self.period, Unset):
            period = UNSET
        else:
            period = self.period

        probability: None | str | Unset
        if isinstance(self.probability, Unset):
            probability = UNSET
        else:
            probability = self.probability

        rate: None | str | Unset
        if isinstance(self.rate, Unset):
            rate = UNSET
        else:
            rate = self.rate

        scenario: None | str | Unset
        if isinstance(self.scenario, Unset):
            scenario = UNSET
        else:
            scenario = self.scenario

        start_in: None | str | Unset
        if isinstance(self.start_in, Unset):
            start_in = UNSET
        else:
            start_in = self.start_in

        target: None | str | Unset
        if isinstance(self.target, Unset):
            target = UNSET
        else:
            target = self.target

        ttl: None | str | Unset
        if isinstance(self.ttl, Unset):
            ttl = UNSET
        else:
            ttl = self.ttl

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "applies_to": applies_to,
                "created_ms": created_ms,
                "id": id,
                "kind": kind,
                "starts_ms": starts_ms,
                "state": state,
            }
        )
        if delay is not UNSET:
            field_dict["delay"] = delay
        if direction is not UNSET:
            field_dict["direction"] = direction
        if duty is not UNSET:
            field_dict["duty"] = duty
        if expires_ms is not UNSET:
            field_dict["expires_ms"] = expires_ms
        if groups is not UNSET:
            field_dict["groups"] = groups
        if jitter is not UNSET:
            field_dict["jitter"] = jitter
        if percent is not UNSET:
            field_dict["percent"] = percent
        if period is not UNSET:
            field_dict["period"] = period
        if probability is not UNSET:
            field_dict["probability"] = probability
        if rate is not UNSET:
            field_dict["rate"] = rate
        if scenario is not UNSET:
            field_dict["scenario"] = scenario
        if start_in is not UNSET:
            field_dict["start_in"] = start_in
        if target is not UNSET:
            field_dict["target"] = target
        if ttl is not UNSET:
            field_dict["ttl"] = ttl

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        applies_to = cast(list[str], d.pop("applies_to"))

        created_ms = d.pop("created_ms")

        id = d.pop("id")

        kind = FaultKind(d.pop("kind"))

        starts_ms = d.pop("starts_ms")

        state = d.pop("state")

        def _parse_delay(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        delay = _parse_delay(d.pop("delay", UNSET))

        def _parse_direction(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        direction = _parse_direction(d.pop("direction", UNSET))

        def _parse_duty(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        duty = _parse_duty(d.pop("duty", UNSET))

        def _parse_expires_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        expires_ms = _parse_expires_ms(d.pop("expires_ms", UNSET))

        def _parse_groups(data: object) -> list[list[str]] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                groups_type_0 = []
                _groups_type_0 = data
                for groups_type_0_item_data in _groups_type_0:
                    groups_type_0_item = cast(list[str], groups_type_0_item_data)

                    groups_type_0.append(groups_type_0_item)

                return groups_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[list[str]] | None | Unset, data)

        groups = _parse_groups(d.pop("groups", UNSET))

        def _parse_jitter(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        jitter = _parse_jitter(d.pop("jitter", UNSET))

        def _parse_percent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        percent = _parse_percent(d.pop("percent", UNSET))

        def _parse_period(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        period = _parse_period(d.pop("period", UNSET))

        def _parse_probability(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        probability = _parse_probability(d.pop("probability", UNSET))

        def _parse_rate(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rate = _parse_rate(d.pop("rate", UNSET))

        def _parse_scenario(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        scenario = _parse_scenario(d.pop("scenario", UNSET))

        def _parse_start_in(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        start_in = _parse_start_in(d.pop("start_in", UNSET))

        def _parse_target(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target = _parse_target(d.pop("target", UNSET))

        def _parse_ttl(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        ttl = _parse_ttl(d.pop("ttl", UNSET))

        fault_view = cls(
            applies_to=applies_to,
            created_ms=created_ms,
            id=id,
            kind=kind,
            starts_ms=starts_ms,
            state=state,
            delay=delay,
            direction=direction,
            duty=duty,
            expires_ms=expires_ms,
            groups=groups,
            jitter=jitter,
            percent=percent,
            period=period,
            probability=probability,
            rate=rate,
            scenario=scenario,
            start_in=start_in,
            target=target,
            ttl=ttl,
        )

        fault_view.additional_properties = d
        return fault_view

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
