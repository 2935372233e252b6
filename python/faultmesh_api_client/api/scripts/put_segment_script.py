from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.script_body import ScriptBody
from ...models.script_change import ScriptChange
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    body: ScriptBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/segments/{name}/script".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | ScriptChange | None:
    if response.status_code == 200:
        response_200 = ScriptChange.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = ErrorBody.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = ErrorBody.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | ScriptChange]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: ScriptBody,
) -> Response[ErrorBody | ScriptChange]:
    """Attaches (or replaces) a segment's script: it filters every packet entering the segment.

    Args:
        name (str):
        body (ScriptBody): A script to attach. Example: {'on_error': 'pass', 'params': {'every':
            10}, 'source': 'local n = 0\\nfunction filter(pkt)\\n  n += 1\\n  if n % params.every == 0
            then return DROP end\\n  return PASS\\nend'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ScriptChange]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: ScriptBody,
) -> ErrorBody | ScriptChange | None:
    """Attaches (or replaces) a segment's script: it filters every packet entering the segment.

    Args:
        name (str):
        body (ScriptBody): A script to attach. Example: {'on_error': 'pass', 'params': {'every':
            10}, 'source': 'local n = 0\\nfunction filter(pkt)\\n  n += 1\\n  if n % params.every == 0
            then return DROP end\\n  return PASS\\nend'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ScriptChange
    """

    return sync_detailed(
        name=name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: ScriptBody,
) -> Response[ErrorBody | ScriptChange]:
    """Attaches (or replaces) a segment's script: it filters every packet entering the segment.

    Args:
        name (str):
        body (ScriptBody): A script to attach. Example: {'on_error': 'pass', 'params': {'every':
            10}, 'source': 'local n = 0\\nfunction filter(pkt)\\n  n += 1\\n  if n % params.every == 0
            then return DROP end\\n  return PASS\\nend'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ScriptChange]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: ScriptBody,
) -> ErrorBody | ScriptChange | None:
    """Attaches (or replaces) a segment's script: it filters every packet entering the segment.

    Args:
        name (str):
        body (ScriptBody): A script to attach. Example: {'on_error': 'pass', 'params': {'every':
            10}, 'source': 'local n = 0\\nfunction filter(pkt)\\n  n += 1\\n  if n % params.every == 0
            then return DROP end\\n  return PASS\\nend'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ScriptChange
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            body=body,
        )
    ).parsed
