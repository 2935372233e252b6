from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.four_state import FourState
    from ..models.ge_model import GeModel


T = TypeVar("T", bound="LossMap")


@_attrs_define
class LossMap:
    """A loss model in map form: exactly one of `percent`, `gemodel`, `state`.

    Attributes:
        correlation (str | Unset): Correlation of random loss, e.g. `25%`.
        gemodel (GeModel | Unset): Gilbert-Elliott loss parameters.
        percent (str | Unset): Random loss, e.g. `1%`.
        state (FourState | Unset): 4-state Markov loss parameters.
    """

    correlation: str | Unset = UNSET
    gemodel: GeModel | Unset = UNSET
    percent: str | Unset = UNSET
    state: FourState | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        correlation = self.correlation

        gemodel: dict[str, Any] | Unset = UNSET
        if not isinstance(self.gemodel, Unset):
            gemodel = self.gemodel.to_dict()

        percent = self.percent

        state: dict[str, Any] | Unset = UNSET
        if not isinstance(self.state, Unset):
            state = self.state.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if correlation is not UNSET:
            field_dict["correlation"] = correlation
        if gemodel is not UNSET:
            field_dict["gemodel"] = gemodel
        if percent is not UNSET:
            field_dict["percent"] = percent
        if state is not UNSET:
            field_dict["state"] = state

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.four_state import FourState
        from ..models.ge_model import GeModel

        d = dict(src_dict)
        correlation = d.pop("correlation", UNSET)

        _gemodel = d.pop("gemodel", UNSET)
        gemodel: GeModel | Unset
        if isinstance(_gemodel, Unset):
            gemodel = UNSET
        else:
            gemodel = GeModel.from_dict(_gemodel)

        percent = d.pop("percent", UNSET)

        _state = d.pop("state", UNSET)
        state: FourState | Unset
        if isinstance(_state, Unset):
            state = UNSET
        else:
            state = FourState.from_dict(_state)

        loss_map = cls(
            correlation=correlation,
            gemodel=gemodel,
            percent=percent,
            state=state,
        )

        loss_map.additional_properties = d
        return loss_map

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
