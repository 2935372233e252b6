from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.reload_report import ReloadReport


T = TypeVar("T", bound="ReloadView")


@_attrs_define
class ReloadView:
    """What a reload did.

    Attributes:
        faults_removed (list[int]): Faults removed because their target is gone.
        report (ReloadReport): What a reload changed.
        script_errors (list[str]): Script problems.
    """

    faults_removed: list[int]
    report: ReloadReport
    script_errors: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        faults_removed = self.faults_removed

        report = self.report.to_dict()

        script_errors = self.script_errors

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "faults_removed": faults_removed,
                "report": report,
                "script_errors": script_errors,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.reload_report import ReloadReport

        d = dict(src_dict)
        faults_removed = cast(list[int], d.pop("faults_removed"))

        report = ReloadReport.from_dict(d.pop("report"))

        script_errors = cast(list[str], d.pop("script_errors"))

        reload_view = cls(
            faults_removed=faults_removed,
            report=report,
            script_errors=script_errors,
        )

        reload_view.additional_properties = d
        return reload_view

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
