from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.chance_map import ChanceMap
    from ..models.delay_map import DelayMap
    from ..models.loss_map import LossMap
    from ..models.rate_map import RateMap
    from ..models.reorder_map import ReorderMap


T = TypeVar("T", bound="DirPatch")


@_attrs_define
class DirPatch:
    """A partial change to one direction: a field set to a value changes it,
    set to `null` clears it, absent leaves it.

        Attributes:
            corrupt (ChanceMap | None | str | Unset):
            delay (DelayMap | None | str | Unset):
            duplicate (ChanceMap | None | str | Unset):
            loss (LossMap | None | str | Unset):
            mtu (int | None | Unset): MTU.
            rate (None | RateMap | str | Unset):
            reorder (None | ReorderMap | str | Unset):
    """

    corrupt: ChanceMap | None | str | Unset = UNSET
    delay: DelayMap | None | str | Unset = UNSET
    duplicate: ChanceMap | None | str | Unset = UNSET
    loss: LossMap | None | str | Unset = UNSET
    mtu: int | None | Unset = UNSET
    rate: None | RateMap | str | Unset = UNSET
    reorder: None | ReorderMap | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.chance_map import ChanceMap
        from ..models.delay_map import DelayMap
        from ..models.loss_map import LossMap
        from ..models.rate_map import RateMap
        from ..models.reorder_map import ReorderMap

        corrupt: dict[str, Any] | None | str | Unset
        if isinstance(self.corrupt, Unset):
            corrupt = UNSET
        elif isinstance(self.corrupt, ChanceMap):
            corrupt = self.corrupt.to_dict()
        else:
            corrupt = self.corrupt

        delay: dict[str, Any] | None | str | Unset
        if isinstance(self.delay, Unset):
            delay = UNSET
        elif isinstance(self.delay, DelayMap):
            delay = self.delay.to_dict()
        else:
            delay = self.delay

        duplicate: dict[str, Any] | None | str | Unset
        if isinstance(self.duplicate, Unset):
            duplicate = UNSET
        elif isinstance(self.duplicate, ChanceMap):
            duplicate = self.duplicate.to_dict()
        else:
            duplicate = self.duplicate

        loss: dict[str, Any] | None | str | Unset
        if isinstance(self.loss, Unset):
            loss = UNSET
        elif isinstance(self.loss, LossMap):
            loss = self.loss.to_dict()
        else:
            loss = self.loss

        mtu: int | None | Unset
        if isinstance(self.mtu, Unset):
            mtu = UNSET
        else:
            mtu = self.mtu

        rate: dict[str, Any] | None | str | Unset
        if isinstance(self.rate, Unset):
            rate = UNSET
        elif isinstance(self.rate, RateMap):
            rate = self.rate.to_dict()
        else:
            rate = self.rate

        reorder: dict[str, Any] | None | str | Unset
        if isinstance(self.reorder, Unset):
            reorder = UNSET
        elif isinstance(self.reorder, ReorderMap):
            reorder = self.reorder.to_dict()
        else:
            reorder = self.reorder

        field_dict: dict[str, Any] = {}

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

        def _parse_corrupt(data: object) -> ChanceMap | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_chance_input_type_1 = ChanceMap.from_dict(data)

                return componentsschemas_chance_input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChanceMap | None | str | Unset, data)

        corrupt = _parse_corrupt(d.pop("corrupt", UNSET))

        def _parse_delay(data: object) -> DelayMap | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_delay_input_type_1 = DelayMap.from_dict(data)

                return componentsschemas_delay_input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DelayMap | None | str | Unset, data)

        delay = _parse_delay(d.pop("delay", UNSET))

        def _parse_duplicate(data: object) -> ChanceMap | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_chance_input_type_1 = ChanceMap.from_dict(data)

                return componentsschemas_chance_input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChanceMap | None | str | Unset, data)

        duplicate = _parse_duplicate(d.pop("duplicate", UNSET))

        def _parse_loss(data: object) -> LossMap | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_loss_input_type_1 = LossMap.from_dict(data)

                return componentsschemas_loss_input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LossMap | None | str | Unset, data)

        loss = _parse_loss(d.pop("loss", UNSET))

        def _parse_mtu(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        mtu = _parse_mtu(d.pop("mtu", UNSET))

        def _parse_rate(data: object) -> None | RateMap | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_rate_input_type_1 = RateMap.from_dict(data)

                return componentsschemas_rate_input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RateMap | str | Unset, data)

        rate = _parse_rate(d.pop("rate", UNSET))

        def _parse_reorder(data: object) -> None | ReorderMap | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_reorder_input_type_1 = ReorderMap.from_dict(data)

                return componentsschemas_reorder_input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReorderMap | str | Unset, data)

        reorder = _parse_reorder(d.pop("reorder", UNSET))

        dir_patch = cls(
            corrupt=corrupt,
            delay=delay,
            duplicate=duplicate,
            loss=loss,
            mtu=mtu,
            rate=rate,
            reorder=reorder,
        )

        return dir_patch
