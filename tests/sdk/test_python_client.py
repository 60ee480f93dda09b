"""The official Python client (PyPI ``commercelayer``, generated from Commerce Layer's OpenAPI document, pinned
in the test extra), unmodified, against a live orderfactory server: create, list, retrieve, update and delete a
price list.

That client sends ``Content-Type: application/json`` and parses every response into its generated models; its
list calls take no query parameters. It has no token helper, so the token comes from a plain JSON POST, as
its README shows.
"""

from __future__ import annotations

from typing import Any

import attr
import httpx
import pytest
from commercelayer.api.price_lists import (
    delet_eprice_listsprice_list_id,
    ge_tprice_lists,
    ge_tprice_listsprice_list_id,
    patc_hprice_listsprice_list_id,
    pos_tprice_lists,
)
from commercelayer.client import AuthenticatedClient
from commercelayer.models.price_list_create import PriceListCreate
from commercelayer.models.price_list_update import PriceListUpdate

from orderfactory.auth import services


@pytest.fixture
def client(static_url: Any, live_server: Any, transactional_db: Any) -> AuthenticatedClient:
    app, secret = services.create_application(
        name="python-client", kind="integration", mode="test", organization_slug="acme"
    )
    answer = httpx.post(
        f"{live_server.url}/oauth/token",
        json={"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret},
    )
    assert answer.status_code == 200, answer.text
    return AuthenticatedClient(
        base_url=f"{live_server.url}/api",
        token=answer.json()["access_token"],
        raise_on_unexpected_status=True,
    )


def test_price_list_round_trip(client: AuthenticatedClient) -> None:
    created = pos_tprice_lists.sync_detailed(
        client=client,
        json_body=PriceListCreate.from_dict(
            {
                "data": {
                    "type": "price_lists",
                    "attributes": {
                        "name": "Python Euro",
                        "currency_code": "EUR",
                        "metadata": {"source": "py"},
                    },
                }
            }
        ),
    )
    assert created.status_code == 201
    assert created.parsed is not None
    price_list_id = created.parsed.data.id
    assert created.parsed.data.attributes.name == "Python Euro"

    listed = ge_tprice_lists.sync_detailed(client=client)
    assert listed.status_code == 200
    assert listed.parsed is not None
    assert [item.id for item in listed.parsed.data] == [price_list_id]

    retrieved = ge_tprice_listsprice_list_id.sync_detailed(client=client, price_list_id=price_list_id)
    assert retrieved.status_code == 200
    assert retrieved.parsed is not None
    assert retrieved.parsed.data.attributes.currency_code == "EUR"

    updated = patc_hprice_listsprice_list_id.sync_detailed(
        client=client,
        price_list_id=price_list_id,
        json_body=PriceListUpdate.from_dict(
            {
                "data": {
                    "type": "price_lists",
                    "id": price_list_id,
                    "attributes": {"metadata": {"source": "py2"}},
                }
            }
        ),
    )
    assert updated.status_code == 200
    assert updated.parsed is not None
    assert updated.parsed.data.attributes.metadata.to_dict() == {"source": "py2"}

    deleted = delet_eprice_listsprice_list_id.sync_detailed(client=client, price_list_id=price_list_id)
    assert deleted.status_code == 204
    lenient = attr.evolve(client, raise_on_unexpected_status=False)
    gone = ge_tprice_listsprice_list_id.sync_detailed(client=lenient, price_list_id=price_list_id)
    assert gone.status_code == 404
