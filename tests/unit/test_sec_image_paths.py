"""A container's image path is written into workflows run on the host: only
plain, absolute, normalised paths of safe characters are taken, from the admin
API and from `ws admin` alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.catalogue import softwares as catalogue
from service.core.errors import InvalidParameter
from service.core.store import Store

from .helpers import assert_error_shape, token_for

BAD = ["/srv/x;touch${IFS}/tmp/PWNED;.sif", "/srv/x y.sif", "/srv/$(id).sif",
       "/srv/x`id`.sif", "/srv/x'.sif", "/srv/x\".sif", "/srv/x\n.sif", "/srv/é.sif",
       "/srv/../etc/x.sif", "/srv/./x.sif", "/srv//x.sif", "//srv/x.sif", "/srv/x/",
       "srv/x.sif", "-x.sif"]


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """Files at every bad path under tmp_path, so existence is not what refuses them."""
    for bad in BAD:
        relative = bad.lstrip("/")
        if relative.endswith("/") or ".." in relative or "\n" in relative:
            continue
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(b"SIF")
    return tmp_path


async def test_admin_api_refuses_unsafe_image_paths(
        client: TestClient[Any, Any], catalogue_data: Store, planted: Path) -> None:
    token = await token_for(client, "alice")
    headers = {"Authorization": f"Bearer {token}"}
    for bad in BAD:
        image = str(planted) + bad if bad.startswith("/") else bad
        for operation, fields in (("container/add", {"name": "c9", "type": "singularity"}),
                                  ("container/update", {"name": "c1"})):
            resp = await client.post(f"/api/admin/{operation}",
                                     json={**fields, "image": image}, headers=headers)
            assert resp.status == 400, (operation, image, await resp.text())
            assert_error_shape(await resp.json(), "bad_parameter")
        assert catalogue.get_container(catalogue_data, "c1").image != image


def test_the_catalogue_refuses_them_whoever_asks(store: Store, planted: Path) -> None:
    with pytest.raises(InvalidParameter, match="characters"):
        catalogue.add_container(store, "c9", "singularity",
                                str(planted) + "/srv/x;touch${IFS}/tmp/PWNED;.sif")


def test_a_plain_image_path_is_taken(store: Store, tmp_path: Path) -> None:
    image = tmp_path / "images" / "tool-1.2_x+y.sif"
    image.parent.mkdir()
    image.write_bytes(b"SIF")
    assert catalogue.add_container(store, "c9", "singularity", image).image == str(image)
