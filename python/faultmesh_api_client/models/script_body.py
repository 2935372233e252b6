from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.script_body_params_type_0 import ScriptBodyParamsType0


T = TypeVar("T", bound="ScriptBody")


@_attrs_define
class ScriptBody:
    """A script to attach.

    Example:
        {'on_error': 'pass', 'params': {'every': 10}, 'source': 'local n = 0\\nfunction filter(pkt)\\n  n += 1\\n  if n
            % params.every == 0 then return DROP end\\n  return PASS\\nend'}

    Attributes:
        direction (None | str | Unset): Links only: `a_to_b`, `b_to_a` or `both` (default).
        file (None | str | Unset): A Lua file (relative to the topology file's directory), or…
        on_error (None | str | Unset): `pass` (default) or `drop`: what happens to packets once the script fails.
        params (None | ScriptBodyParamsType0 | Unset): `params` as the script sees them.
        source (None | str | Unset): …the Lua source itself.
    """

    direction: None | str | Unset = UNSET
    file: None | str | Unset = UNSET
    on_error: None | str | Unset = UNSET
    params: None | ScriptBodyParamsType0 | Unset = UNSET
    source: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.script_body_params_type_0 import ScriptBodyParamsType0

        direction: None | str | Unset
        if isinstance(self.direction, Unset):
            direction = UNSET
        else:
            direction = self.direction

        file: None | str | Unset
        if isinstance(self.file, Unset):
            file = UNSET
        else:
            file = self.file

        on_error: None | str | Unset
        if isinstance(self.on_error, Unset):
            on_error = UNSET
        else:
            on_error = self.on_error

        params: dict[str, Any] | None | Unset
        if isinstance(self.params, Unset):
            params = UNSET
        elif isinstance(self.params, ScriptBodyParamsType0):
            params = self.params.to_dict()
        else:
            params = self.params

        source: None | str | Unset
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if direction is not UNSET:
            field_dict["direction"] = direction
        if file is not UNSET:
            field_dict["file"] = file
        if on_error is not UNSET:
            field_dict["on_error"] = on_error
        if params is not UNSET:
            field_dict["params"] = params
        if source is not UNSET:
            field_dict["source"] = source

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.script_body_params_type_0 import ScriptBodyParamsType0

        d = dict(src_dict)

        def _parse_direction(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        direction = _parse_direction(d.pop("direction", UNSET))

        def _parse_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        file = _parse_file(d.pop("file", UNSET))

        def _parse_on_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        on_error = _parse_on_error(d.pop("on_error", UNSET))

        def _parse_params(data: object) -> None | ScriptBodyParamsType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                params_type_0 = ScriptBodyParamsType0.from_dict(data)

                return params_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ScriptBodyParamsType0 | Unset, data)

        params = _parse_params(d.pop("params", UNSET))

        def _parse_source(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source = _parse_source(d.pop("source", UNSET))

        script_body = cls(
            direction=direction,
            file=file,
            on_error=on_error,
            params=params,
            source=source,
        )

        return script_body
