from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.counters_scripts_item import CountersScriptsItem
    from ..models.engine_counters import EngineCounters
    from ..models.filter_status import FilterStatus
    from ..models.loop_stats import LoopStats
    from ..models.port_counters import PortCounters


T = TypeVar("T", bound="Counters")


@_attrs_define
class Counters:
    """Every counter: what `GET /counters` answers.

    Attributes:
        engine (EngineCounters): Engine counters at one instant.
        filters (list[FilterStatus]): The script filter of every link direction that has one.
        loop_stats (LoopStats): Data-plane loop counters.
        ports (list[list[PortCounters | str]]): Device I/O per node: `[node name, counters]` pairs.
        scripts (list[CountersScriptsItem] | Unset): Per-script counters (appliances built with script support).
    """

    engine: EngineCounters
    filters: list[FilterStatus]
    loop_stats: LoopStats
    ports: list[list[PortCounters | str]]
    scripts: list[CountersScriptsItem] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.port_counters import PortCounters

        engine = self.engine.to_dict()

        filters = []
        for filters_item_data in self.filters:
            filters_item = filters_item_data.to_dict()
            filters.append(filters_item)

        loop_stats = self.loop_stats.to_dict()

        ports = []
        for ports_item_data in self.ports:
            ports_item = []
            for ports_item_item_data in ports_item_data:
                ports_item_item: dict[str, Any] | str
                if isinstance(ports_item_item_data, PortCounters):
                    ports_item_item = ports_item_item_data.to_dict()
                else:
                    ports_item_item = ports_item_item_data
                ports_item.append(ports_item_item)

            ports.append(ports_item)

        scripts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.scripts, Unset):
            scripts = []
            for scripts_item_data in self.scripts:
                scripts_item = scripts_item_data.to_dict()
                scripts.append(scripts_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "engine": engine,
                "filters": filters,
                "loop_stats": loop_stats,
                "ports": ports,
            }
        )
        if scripts is not UNSET:
            field_dict["scripts"] = scripts

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.counters_scripts_item import CountersScriptsItem
        from ..models.engine_counters import EngineCounters
        from ..models.filter_status import FilterStatus
        from ..models.loop_stats import LoopStats
        from ..models.port_counters import PortCounters

        d = dict(src_dict)
        engine = EngineCounters.from_dict(d.pop("engine"))

        filters = []
        _filters = d.pop("filters")
        for filters_item_data in _filters:
            filters_item = FilterStatus.from_dict(filters_item_data)

            filters.append(filters_item)

        loop_stats = LoopStats.from_dict(d.pop("loop_stats"))

        ports = []
        _ports = d.pop("ports")
        for ports_item_data in _ports:
            ports_item = []
            _ports_item = ports_item_data
            for ports_item_item_data in _ports_item:

                def _parse_ports_item_item(data: object) -> PortCounters | str:
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        componentsschemas_port_entry_type_1 = PortCounters.from_dict(
                            data
                        )

                        return componentsschemas_port_entry_type_1
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    return cast(PortCounters | str, data)

                ports_item_item = _parse_ports_item_item(ports_item_item_data)

                ports_item.append(ports_item_item)

            ports.append(ports_item)

        _scripts = d.pop("scripts", UNSET)
        scripts: list[CountersScriptsItem] | Unset = UNSET
        if _scripts is not UNSET:
            scripts = []
            for scripts_item_data in _scripts:
                scripts_item = CountersScriptsItem.from_dict(scripts_item_data)

                scripts.append(scripts_item)

        counters = cls(
            engine=engine,
            filters=filters,
            loop_stats=loop_stats,
            ports=ports,
            scripts=scripts,
        )

        counters.additional_properties = d
        return counters

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
