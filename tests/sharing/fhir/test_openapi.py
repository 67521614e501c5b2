"""The OpenAPI description (sharing/fhir/openapi.py) stays true to the code that serves the API.

It is valid OpenAPI; it names exactly the URLs under /fhir and the methods each answers; its
search parameters are exactly the ones the search code accepts; each operation's security
scheme is the one its view asks for. schemathesis then holds the live API to it
(test_openapi_fuzz.py). Below those: the bugs that fuzzing found, kept as regression tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from openapi_spec_validator import validate

from portal.login.devclient import DpopKey, epj_user_token
from sharing.fhir import auditevent, capability, search
from sharing.fhir.openapi import OBSERVATION_ID, document
from tests.conftest import PATIENT

DOC = document()
FORM = "application/x-www-form-urlencoded"


def test_the_description_is_valid_openapi() -> None:
    validate(DOC)  # openapi-spec-validator: OpenAPI 3.1 and the JSON Schema dialect it uses


def test_it_is_served_to_anyone_at_fhir_openapi_json(client: Client) -> None:
    response = client.get("/fhir/openapi.json")
    assert response.status_code == 200
    assert response.json() == document(server_url="http://testserver")


# --- URLs and methods ---------------------------------------------------------------------


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    """Every route as a path with its parameters as {}: 'fhir/Observation/{}'."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            route = str(pattern.pattern)
            if isinstance(pattern.pattern, RegexPattern):
                route = route.removeprefix("^").removesuffix("$")
            yield prefix + re.sub(r"\(\?P<\w+>[^)]*\)|<[\w:]+>", "{}", route)


def _served_methods(client: Client, path: str) -> set[str]:
    """What the server itself says a URL takes: the Allow header (by_method's 405s, and every DRF answer)."""
    response = client.delete(path.replace("{}", "x"))
    return {m.strip() for m in response["Allow"].split(",")} - {"HEAD", "OPTIONS"}


def test_every_url_under_fhir_is_described_with_its_methods_and_nothing_else(client: Client) -> None:
    served = {
        f"/{route}": _served_methods(client, f"/{route}")
        for route in _routes(get_resolver().url_patterns)
        if route == "fhir" or route.startswith("fhir/")
    }
    described = {
        re.sub(r"\{\w+\}", "{}", path): {method.upper() for method in item if method != "parameters"}
        for path, item in DOC["paths"].items()
    }
    assert {"/fhir", "/fhir/Observation/{}", "/fhir/AuditEvent"} <= set(served)  # the walk finds them
    assert served == described


def test_the_id_parameter_is_the_urls_own_pattern() -> None:
    patterns = [
        p.pattern for p in get_resolver("sharing.fhir.urls").url_patterns if isinstance(p.pattern, RegexPattern)
    ]
    assert len(patterns) == 3  # read/update, _history, vread
    for observation_id in patterns:
        group = re.search(r"\(\?P<pk>([^)]*)\)", str(observation_id))
        assert group is not None
        assert OBSERVATION_ID["schema"]["pattern"] == f"^{group.group(1)}$"


# --- Parameters ---------------------------------------------------------------------------


def _query(path: str, method: str = "get") -> set[str]:
    return {p["name"] for p in DOC["paths"][path][method].get("parameters", []) if p["in"] == "query"}


def test_search_parameters_are_the_ones_the_search_code_accepts() -> None:
    accepted = search.SUPPORTED | {search.CURSOR}
    form = DOC["paths"]["/fhir/Observation/_search"]["post"]["requestBody"]["content"][FORM]["schema"]
    assert _query("/fhir/Observation") == accepted
    assert set(form["properties"]) == accepted
    assert _query("/fhir/Observation/$lastn") == search.SUPPORTED | {"max"}  # a cursor means nothing there
    assert _query("/fhir/AuditEvent") == auditevent.KNOWN_PARAMS


def test_the_capability_statement_lists_exactly_the_parameters_the_search_code_accepts() -> None:
    assert {p["name"] for p in capability.OBSERVATION_SEARCH_PARAMS} == set(search.SUPPORTED)
    assert {p["name"] for p in capability.AUDITEVENT_SEARCH_PARAMS} == set(auditevent.KNOWN_PARAMS)


def test_the_capability_statement_lists_no_parameter_the_description_lacks() -> None:
    assert {p["name"] for p in capability.OBSERVATION_SEARCH_PARAMS} <= _query("/fhir/Observation")
    assert {p["name"] for p in capability.AUDITEVENT_SEARCH_PARAMS} <= _query("/fhir/AuditEvent")


# --- Security -----------------------------------------------------------------------------


def _anonymous(client: Client, method: str, path: str, operation: dict[str, Any]) -> Any:
    url = path.replace("{id}", "x").replace("{vid}", "1")
    if "requestBody" not in operation:
        return client.generic(method.upper(), url)
    content_type = FORM if FORM in operation["requestBody"]["content"] else "application/fhir+json"
    return client.generic(method.upper(), url, "{}", content_type=content_type)


@pytest.mark.django_db
def test_each_operation_asks_for_the_scheme_it_describes(client: Client) -> None:
    """Without a token, every secured operation answers 401 naming its scheme (Bearer or DPoP); the rest 200."""
    schemes = DOC["components"]["securitySchemes"]
    for path, item in DOC["paths"].items():
        for method, operation in ((m, o) for m, o in item.items() if m != "parameters"):
            response = _anonymous(client, method, path, operation)
            http = {schemes[n]["scheme"] for req in operation["security"] for n in req if schemes[n]["type"] == "http"}
            if not http:
                assert response.status_code == 200, (method, path)
                continue
            assert response.status_code == 401, (method, path)
            assert {response["WWW-Authenticate"].split()[0].lower()} == {s.lower() for s in http}, (method, path)


# --- Found by schemathesis ----------------------------------------------------------------


def test_a_url_under_fhir_that_names_nothing_is_a_fhir_404(client: Client) -> None:
    """It was the portal's HTML page; a FHIR client gets an OperationOutcome, as for every other error."""
    for path in ("/fhir/Observation/not%20a%20FHIR%20id", "/fhir/Patient", "/fhir/Observation/x/_tags"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("application/fhir+json")
        assert response.json()["issue"][0]["code"] == "not-found"
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")  # the portal keeps its page


@pytest.fixture
def epj(helseid: Any, patient_data: str) -> Any:
    """Ingrid Berg's EPJ on the Django test client: a DPoP-bound token, a fresh proof for each call."""
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    client = Client(raise_request_exception=False)

    def call(method: str, path: str, query: str = "", **kwargs: Any) -> Any:
        proof = key.proof(method, f"http://testserver{path}", token)
        url = f"{path}?{query}" if query else path
        return client.generic(method, url, HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof, **kwargs)

    return call


# Two faults the fuzzer found (500s), fixed in read_views.py and search.py; kept as regression tests.


@pytest.mark.django_db(transaction=True)
def test_a_search_post_without_a_form_body_is_a_400(epj: Any) -> None:
    form = urlencode({"patient.identifier": PATIENT, "_summary": "count"})
    assert epj("POST", "/fhir/Observation/_search", data=form, content_type=FORM).status_code == 200  # auth works
    assert epj("POST", "/fhir/Observation/_search").status_code == 400


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/fhir/Observation", "/fhir/Observation/$lastn"])
@pytest.mark.parametrize("param", ["code", "status"])
def test_a_nul_byte_in_a_search_is_a_400(epj: Any, path: str, param: str) -> None:
    assert epj("GET", path, urlencode({"patient.identifier": PATIENT, "_count": "1"})).status_code == 200
    assert epj("GET", path, urlencode({"patient.identifier": PATIENT, param: "a\x00b"})).status_code == 400


# --- statuses and headers, as answered -----------------------------------------------------


def _declared(path: str, method: str, status: int) -> dict[str, Any]:
    responses = DOC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, which it does not declare"
    answer = responses[str(status)]
    if "$ref" in answer:
        answer = DOC["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer


# Every response header the description names anywhere: each answer sends exactly its own of them.
DESCRIBED_HEADERS = {
    name.lower()
    for item in DOC["paths"].values()
    for operation in item.values()
    if isinstance(operation, dict)
    for answer in operation.get("responses", {}).values()
    for name in (
        answer.get("headers")
        or DOC["components"]["responses"].get(answer.get("$ref", "/").rsplit("/", 1)[1], {}).get("headers", {})
    )
} | {name.lower() for answer in DOC["components"]["responses"].values() for name in answer.get("headers", {})}


@pytest.mark.django_db(transaction=True)
def test_headers_declared_are_the_headers_sent(epj: Any) -> None:
    """For each answer: the described headers it names are exactly those sent, no more, no fewer."""
    assert {"etag", "last-modified", "location", "www-authenticate"} <= DESCRIBED_HEADERS
    found = epj("GET", "/fhir/Observation", urlencode({"patient.identifier": PATIENT, "_count": "1"}))
    pk = found.json()["entry"][0]["resource"]["id"]
    read = f"/fhir/Observation/{pk}"
    calls = [
        ("/fhir/Observation", "get", "GET", "/fhir/Observation", urlencode({"patient.identifier": PATIENT}), {}),
        ("/fhir/Observation/{id}", "get", "GET", read, "", {}),
        ("/fhir/Observation/{id}", "get", "GET", read, "", {"HTTP_IF_NONE_MATCH": 'W/"1"'}),
        ("/fhir/Observation/{id}/_history", "get", "GET", f"{read}/_history", "", {}),
        ("/fhir/Observation/{id}/_history/{vid}", "get", "GET", f"{read}/_history/1", "", {}),
        ("/fhir/Observation/{id}/_history/{vid}", "get", "GET", f"{read}/_history/1", "", {"HTTP_IF_NONE_MATCH": "*"}),
        (
            "/fhir/Observation/$lastn",
            "get",
            "GET",
            "/fhir/Observation/$lastn",
            urlencode({"patient.identifier": PATIENT}),
            {},
        ),
    ]
    statuses = []
    for path, method, verb, url, query, headers in calls:
        response = epj(verb, url, query, **headers)
        statuses.append(response.status_code)
        declared = {name.lower() for name in _declared(path, method, response.status_code).get("headers", {})}
        sent = {name.lower() for name in response.headers} & DESCRIBED_HEADERS
        assert sent == declared, (verb, url, response.status_code, sent, declared)
    assert statuses == [200, 200, 304, 200, 200, 304, 200]
    unauthenticated = Client().get("/fhir/Observation", {"patient.identifier": PATIENT})
    declared = {name.lower() for name in _declared("/fhir/Observation", "get", 401).get("headers", {})}
    assert {name.lower() for name in unauthenticated.headers} & DESCRIBED_HEADERS == declared == {"www-authenticate"}


@pytest.mark.django_db(transaction=True)
def test_a_search_never_answers_404_and_does_not_declare_it(epj: Any) -> None:
    """A patient nobody knows, an id that names nothing, a code nobody sends: an empty searchset each."""
    for path in ("/fhir/Observation", "/fhir/Observation/_search", "/fhir/Observation/$lastn"):
        method = next(iter(m for m in DOC["paths"][path] if m != "parameters"))
        assert "404" not in DOC["paths"][path][method]["responses"], path
    for query in (
        {"patient.identifier": "urn:oid:2.16.578.1.12.4.1.4.1|13116900216"},
        {"patient.identifier": PATIENT, "_id": "00000000-0000-4000-8000-000000000000"},
        {"patient.identifier": PATIENT, "code": "http://loinc.org|0000-0"},
    ):
        for path in ("/fhir/Observation", "/fhir/Observation/$lastn"):
            response = epj("GET", path, urlencode(query))
            assert response.status_code == 200, (path, query, response.content)
            assert response.json()["total"] == 0
