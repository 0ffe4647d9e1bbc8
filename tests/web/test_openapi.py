"""The OpenAPI document is valid and a schemathesis run against it finds no server error."""

from __future__ import annotations

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.web import city
from tests.web.conftest import make_config
from web.app import create_app


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_app(tmp_path_factory, gpkg_city):
    home = tmp_path_factory.mktemp("schemathesis")
    return create_app(make_config(gpkg_city, home, lookup_limit="100000 per minute"))


def test_no_server_error(api_app):
    # schemathesis' pytest plugin does not run under pytest 9 here: drive hypothesis directly.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        def run(case):
            case.call_and_validate(checks=CHECKS, headers={"Accept-Encoding": "identity"})

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_document_lists_every_route(api_app):
    doc = api_app.test_client().get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.0")
    assert set(doc["paths"]) == {"/", "/conformance", "/collections", "/collections/{cid}", "/collections/{cid}/items",
                                 "/collections/{cid}/items/{fid}", "/nearest", "/lookup"}


@pytest.mark.parametrize("body", [{"nik": "3171026106850005"}, {"nik": city.MISSING_NIK, "kode_kel": "3171021001"}],
                         ids=["found", "neutral"])
def test_lookup_answers_conform_to_the_lookup_schema(api_app, body):
    # Random NIKs almost never hit the DPT: check a found and a neutral answer against the document.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operation = schema["/lookup"]["POST"]
    response = api_app.test_client().post("/api/v1/lookup", json=body)
    assert response.status_code == 200 and response.json["found"] is (body.get("kode_kel") is None)
    operation.validate_response(response)
    response.set_data(orjson.dumps(dict(response.json, label="yours")))     # a label the document does not allow
    with pytest.raises(Exception, match="yours"):
        operation.validate_response(response)
