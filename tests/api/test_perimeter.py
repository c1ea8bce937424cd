"""What reaches the service at all: ids in paths are checked before the database sees them,
and only requests naming a host the service answers to are served."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC

# Each route that takes an id, with its method. %00 is a NUL byte, an error in PostgreSQL.
ID_ROUTES = [
    ("GET", "/v1/experiments/{}"),
    ("DELETE", "/v1/experiments/{}"),
    ("POST", "/v1/experiments/{}/cancel"),
    ("GET", "/v1/experiments/{}/results"),
    ("GET", "/v1/experiments/{}/results.csv"),
    ("GET", "/v1/experiments/{}/events"),
    ("GET", "/v1/sweeps/{}"),
    ("GET", "/v1/sweeps/{}/compare"),
    ("GET", "/v1/sweeps/{}/events"),
    ("POST", "/v1/sweeps/{}/cancel"),
]
MALFORMED = ["%00", "a%00" + "0" * 30, "nope", "A" * 32, "0" * 33, "%C3%A9" * 16]


def test_malformed_ids_are_404_on_every_route_and_database(database: Settings) -> None:
    with TestClient(create_app(database)) as client:
        for method, path in ID_ROUTES:
            for bad in MALFORMED:
                response = client.request(method, path.format(bad))
                assert response.status_code == 404, (method, path, bad, response.text)
                kind = path.split("/")[2].removesuffix("s")
                assert response.json()["detail"].startswith(f"{kind} "), response.text
            # A well-formed id of nothing is a plain miss, the same answer.
            assert client.request(method, path.format("0" * 32)).status_code == 404


def test_only_the_configured_host_names_are_answered(settings: Settings) -> None:
    named = settings.model_copy(update={"allowed_hosts": ["api", "*.example.org"]})
    with TestClient(create_app(named)) as client:
        for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "api:8000", "gf.example.org"):
            assert client.get("/v1/experiments", headers={"Host": host}).status_code == 200, host
        # A page that rebinds its own name to 127.0.0.1 still sends that name.
        for host in ("rebind.evil.example", "127.0.0.1.evil.example", "example.org", "apix"):
            refused = client.post("/v1/experiments", json=TINY_SPEC, headers={"Host": host})
            assert refused.status_code == 400, host
        listed = client.get("/v1/experiments", headers={"Host": "localhost"}).json()
        assert listed["total"] == 0  # nothing was submitted


def test_a_405_allows_every_method_its_path_documents(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    concrete = {template: template.replace("{job_id}", "0" * 32) for template in paths}
    concrete = {t: p.replace("{sweep_id}", "0" * 32) for t, p in concrete.items()}
    # GET, PATCH and DELETE of one experiment are three routes; Starlette's own Allow named one.
    assert set(paths["/v1/experiments/{job_id}"]) == {"get", "patch", "delete"}
    for template, operations in paths.items():
        refused = client.request("PUT", concrete[template])
        assert refused.status_code == 405, template
        documented = {method.upper() for method in operations}
        if "GET" in documented:
            documented.add("HEAD")
        assert set(refused.headers["allow"].split(", ")) == documented, template
