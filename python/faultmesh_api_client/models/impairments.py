from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.chance_map import ChanceMap
    from ..models.delay_map import DelayMap
    from ..models.loss_map import LossMap
    from ..models.rate_map import RateMap
    from ..models.reorder_map import ReorderMap


T = TypeVar("T", bound="Impairments")


@_attrs_define
class Impairments:
    """Impairments of one direction as configured (map form; absent: none).

    Attributes:
        corrupt (ChanceMap | Unset): A (correlated) probability in map form.
        delay (DelayMap | Unset): A delay in map form (as the API answers it; also accepted as input).
        duplicate (ChanceMap | Unset): A (correlated) probability in map form.
        loss (LossMap | Unset): A loss model in map form: exactly one of `percent`, `gemodel`, `state`.
        mtu (int | Unset): MTU.
        rate (RateMap | Unset): A rate limit in map form.
        reorder (ReorderMap | Unset): Reordering in map form.
    """

    corrupt: ChanceMap | Unset = UNSET
    delay: DelayMap | Unset = UNSET
    duplicate: ChanceMap | Unset = UNSET
    loss: LossMap | Unset = UNSET
    mtu: int | Unset = UNSET
    rate: RateMap | Unset = UNSET
    reorder: ReorderMap | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        corrupt: dict[str, Any] | Unset = UNSET
        if not isinstance(self.corrupt, Unset):
            corrupt = self.corrupt.to_dict()

        delay: dict[str, Any] | Unset = UNSET
        if not isinstance(self.delay, Unset):
            delay = self.delay.to_dict()

        duplicate: dict[str, Any] | Unset = UNSET
        if not isinstance(self.duplicate, Unset):
            duplicate = self.duplicate.to_dict()

        loss: dict[str, Any] | Unset = UNSET
        if not isinstance(self.loss, Unset):
            loss = self.loss.to_dict()

        mtu = self.mtu

        rate: dict[str, Any] | Unset = UNSET
        if not isinstance(self.rate, Unset):
            rate = self.rate.to_dict()

        reorder: dict[str, Any] | Unset = UNSET
        if not isinstance(self.reorder, Unset):
            reorder = self.reorder.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if corrupt is not UNSET:
            field_dict["corrupt"] = corrupt
        if delay is not UNSET:
            field_dict["delay"] = delay
        if duplicate is not UNSET:
            field_dict["duplicate"] = duplicate
        if loss is not UNSET:
            field_dict["loss"] = loss
        if mtu is not UNSET:
            field_dict["mtu"] = mtu
        if rate is not UNSET:
            field_dict["rate"] = rate
        if reorder is not UNSET:
            field_dict["reorder"] = reorder

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.chance_map import ChanceMap
        from ..models.delay_map import DelayMap
        from ..models.loss_map import LossMap
        from ..models.rate_map import RateMap
        from ..models.reorder_map import ReorderMap

        d = dict(src_dict)
        _corrupt = d.pop("corrupt", UNSET)
        corrupt: ChanceMap | Unset
        if isinstance(_corrupt, Unset):
            corrupt = UNSET
        else:
            corrupt = ChanceMap.from_dict(_corrupt)

        _delay = d.pop("delay", UNSET)
        delay: DelayMap | Unset
        if isinstance(_delay, Unset):
            delay = UNSET
        else:
            delay = DelayMap.from_dict(_delay)

        _duplicate = d.pop("duplicate", UNSET)
        duplicate: ChanceMap | Unset
        if isinstance(_duplicate, Unset):
            duplicate = UNSET
        else:
            duplicate = ChanceMap.from_dict(_duplicate)

        _loss = d.pop("loss", UNSET)
        loss: LossMap | Unset
        if isinstance(_loss, Unset):
            loss = UNSET
        else:
            loss = LossMap.from_dict(_loss)

        mtu = d.pop("mtu", UNSET)

        _rate = d.pop("rate", UNSET)
        rate: RateMap | Unset
        if isinstance(_rate, Unset):
            rate = UNSET
        else:
            rate = RateMap.from_dict(_rate)

        _reorder = d.pop("reorder", UNSET)
        reorder: ReorderMap | Unset
        if isinstance(_reorder, Unset):
            reorder = UNSET
        else:
            reorder = ReorderMap.from_dict(_reorder)

        impairments = cls(
            corrupt=corrupt,
            delay=delay,
            duplicate=duplicate,
            loss=loss,
            mtu=mtu,
            rate=rate,
            reorder=reorder,
        )

        impairments.additional_properties = d
        return impairments

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
