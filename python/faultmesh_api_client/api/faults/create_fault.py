from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.fault_request import FaultRequest
from ...models.fault_view import FaultView
from ...types import Response


def _get_kwargs(
    *,
    body: FaultRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/faults",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | FaultView | None:
    if response.status_code == 201:
        response_201 = FaultView.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

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
) -> Response[ErrorBody | FaultView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FaultRequest,
) -> Response[ErrorBody | FaultView]:
    """Creates a fault (an overlay: it never changes the topology).

    Args:
        body (FaultRequest): A request to create a fault. Example: {'delay': '10ms', 'jitter':
            '2ms', 'kind': 'delay', 'probability': '50%', 'scenario': 'slow', 'target': 'all', 'ttl':
            '30s'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FaultView]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: FaultRequest,
) -> ErrorBody | FaultView | None:
    """Creates a fault (an overlay: it never changes the topology).

    Args:
        body (FaultRequest): A request to create a fault. Example: {'delay': '10ms', 'jitter':
            '2ms', 'kind': 'delay', 'probability': '50%', 'scenario': 'slow', 'target': 'all', 'ttl':
            '30s'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FaultView
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FaultRequest,
) -> Response[ErrorBody | FaultView]:
    """Creates a fault (an overlay: it never changes the topology).

    Args:
        body (FaultRequest): A request to create a fault. Example: {'delay': '10ms', 'jitter':
            '2ms', 'kind': 'delay', 'probability': '50%', 'scenario': 'slow', 'target': 'all', 'ttl':
            '30s'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FaultView]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: FaultRequest,
) -> ErrorBody | FaultView | None:
    """Creates a fault (an overlay: it never changes the topology).

    Args:
        body (FaultRequest): A request to create a fault. Example: {'delay': '10ms', 'jitter':
            '2ms', 'kind': 'delay', 'probability': '50%', 'scenario': 'slow', 'target': 'all', 'ttl':
            '30s'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FaultView
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
