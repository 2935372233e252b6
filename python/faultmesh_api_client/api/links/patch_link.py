from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.link_patch import LinkPatch
from ...models.link_view import LinkView
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    body: LinkPatch,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/links/{name}".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | LinkView | None:
    if response.status_code == 200:
        response_200 = LinkView.from_dict(response.json())

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
) -> Response[ErrorBody | LinkView]:
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
    body: LinkPatch,
) -> Response[ErrorBody | LinkView]:
    """Changes a link's impairments in place (queues and counters kept).

    Args:
        name (str):
        body (LinkPatch): Changes to a link's impairments. Example: {'a_to_b': {'loss': '1%',
            'rate': {'queue': 200, 'rate': '100mbit'}}, 'b_to_a': {'corrupt': None}, 'both': {'delay':
            '20ms 2ms'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | LinkView]
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
    body: LinkPatch,
) -> ErrorBody | LinkView | None:
    """Changes a link's impairments in place (queues and counters kept).

    Args:
        name (str):
        body (LinkPatch): Changes to a link's impairments. Example: {'a_to_b': {'loss': '1%',
            'rate': {'queue': 200, 'rate': '100mbit'}}, 'b_to_a': {'corrupt': None}, 'both': {'delay':
            '20ms 2ms'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | LinkView
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
    body: LinkPatch,
) -> Response[ErrorBody | LinkView]:
    """Changes a link's impairments in place (queues and counters kept).

    Args:
        name (str):
        body (LinkPatch): Changes to a link's impairments. Example: {'a_to_b': {'loss': '1%',
            'rate': {'queue': 200, 'rate': '100mbit'}}, 'b_to_a': {'corrupt': None}, 'both': {'delay':
            '20ms 2ms'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | LinkView]
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
    body: LinkPatch,
) -> ErrorBody | LinkView | None:
    """Changes a link's impairments in place (queues and counters kept).

    Args:
        name (str):
        body (LinkPatch): Changes to a link's impairments. Example: {'a_to_b': {'loss': '1%',
            'rate': {'queue': 200, 'rate': '100mbit'}}, 'b_to_a': {'corrupt': None}, 'both': {'delay':
            '20ms 2ms'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | LinkView
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            body=body,
        )
    ).parsed
