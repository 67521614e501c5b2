"""POST /fhir with a Bundle: ``collection`` (PMD 2.0), ``batch`` (pmd-Bundle-Observation), ``transaction``.

A PMD 2.0 ``collection`` Bundle carries ``Bundle.identifier`` (system
``https://www.nhn.no/komlink/bundle-identifier``) and the municipality number in
``Bundle.meta.tag``; it is answered like a batch, by a ``batch-response``. Its entries need
no ``request`` (a collection has none): each is stored like a POST. A collection whose
identifier this client has sent before, and which was then stored in full, is answered from
the earlier answer without storing anything (``ReceivedBundle``); each Observation is also
de-duplicated on its own, so a re-send stores nothing new either way.

A batch is answered by a ``batch-response`` (pmd-Bundle-Response): one entry per request
entry, in order, with the request's ``fullUrl`` echoed, the PmdBundleResponseEntryId
extension pointing back to it, a status, and an OperationOutcome for every entry that
failed (or was stored with warnings). Good entries are stored even when others fail, all
in one ``write_observations`` call. A transaction is all or nothing: on any failure the
answer is one OperationOutcome naming the failing entries, and nothing is stored.

Only the envelope is read here (type, entries, fullUrl, request); each resource is
checked by the normaliser like a single POST.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import urlsplit

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from sharing.fhir.observation.guard import clean_text
from sharing.fhir.observation.issues import Issue, error
from sharing.fhir.wording import Said

from .auth import ApiClient
from .ingest import KOMMUNENUMMER, Entry, Method, Result, Rollback, tagged_number, write_observations
from .models import ReceivedBundle

VKP = "http://hl7.no/fhir/vkpobservation/StructureDefinition/"
REQUEST_PROFILE = VKP + "pmd-Bundle-Observation"
RESPONSE_PROFILE = VKP + "pmd-Bundle-Response"
ENTRY_ID_EXTENSION = VKP + "PmdBundleResponseEntryIdExtension"
MAX_URL = 2048
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]+")
BUNDLE_IDENTIFIER = "https://www.nhn.no/komlink/bundle-identifier"
BundleType = Literal["batch", "transaction", "collection"]
RESOURCE_REQUIRED = _("resource (an Observation) is required.")


class BundleRejected(Exception):
    """The Bundle as a whole cannot be processed; nothing was stored."""

    def __init__(self, status: int, issues: list[Issue]) -> None:
        super().__init__(issues[0].diagnostics)
        self.status, self.issues = status, issues


@dataclass
class ParsedBundle:
    type: BundleType
    entries: list[Entry | Result] = field(default_factory=list)  # a Result: refused at the envelope
    full_urls: list[str] = field(default_factory=list)  # "" where missing or unusable
    notes: dict[int, list[Issue]] = field(default_factory=dict)  # envelope warnings per entry
    identifier: str = ""  # PMD 2.0 Bundle.identifier value (system BUNDLE_IDENTIFIER)
    municipality_number: str = ""  # Bundle.meta.tag kommunenummer


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def process(data: Any, *, client: ApiClient, max_entries: int, language: str) -> Answer:
    """Parse, store and answer one Bundle, its outcomes worded in `language`.

    Raises BundleRejected and ingest.SenderNotAllowed. A collection answered before is answered
    with the stored answer, as it was worded then.
    """
    bundle = parse(data, max_entries=max_entries)
    if bundle.identifier:
        earlier = ReceivedBundle.objects.filter(client_id=client.client_id, identifier=bundle.identifier).first()
        if earlier is not None:
            return Answer(200, earlier.response)
    try:
        results = write_observations(entries=bundle.entries, client=client, atomic=bundle.type == "transaction")
    except Rollback as exc:
        raise BundleRejected(*_transaction_failure(exc.results)) from None
    for i, notes in bundle.notes.items():
        results[i].issues[:0] = notes
    body = response(bundle, results, language)
    if bundle.identifier and all(r.ok for r in results):
        ReceivedBundle.objects.get_or_create(
            client_id=client.client_id, identifier=bundle.identifier, defaults={"response": body}
        )
    return Answer(200, body)


def parse(data: Any, *, max_entries: int) -> ParsedBundle:
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        if isinstance(data, dict):
            msg = _("POST /fhir takes a Bundle. Send an Observation to /fhir/Observation.")
        else:
            msg = _("POST /fhir takes a Bundle.")
        raise BundleRejected(400, [error("not-supported", "Bundle", "bundle-expected", msg)])
    kind = data.get("type")
    if kind not in ("batch", "transaction", "collection"):
        msg = _("Bundle.type must be collection (PMD 2.0), batch (pmd-Bundle-Observation) or transaction.")
        raise BundleRejected(400, [error("not-supported", "Bundle.type", "bundle-type", msg)])
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        msg = _("Bundle.entry must be a list.")
        raise BundleRejected(400, [error("structure", "Bundle.entry", "bundle-entry-invalid", msg)])
    if len(entries) > max_entries:
        msg = _("The Bundle has %(count)s entries; at most %(max)s are accepted per request.")
        issue = error("too-costly", "Bundle.entry", "bundle-too-large", msg, count=len(entries), max=max_entries)
        raise BundleRejected(413, [issue])
    bundle = ParsedBundle(kind, identifier=_identifier(data), municipality_number=tagged_number(data))
    if kind == "collection" and not bundle.municipality_number:
        msg = _("A collection Bundle (PMD 2.0) names its municipality in Bundle.meta.tag (system %(system)s).")
        raise BundleRejected(
            400, [error("required", "Bundle.meta.tag", "municipality-required", msg, system=KOMMUNENUMMER)]
        )
    seen: set[str] = set()
    for i, raw in enumerate(entries):
        full_url, entry = _entry(raw, i, seen, bundle)
        bundle.full_urls.append(full_url)
        bundle.entries.append(entry)
    return bundle


def _identifier(data: dict[str, Any]) -> str:
    """Bundle.identifier's value when its system is the PMD bundle identifier (an object or a list)."""
    found = data.get("identifier")
    for item in found if isinstance(found, list) else [found]:
        if isinstance(item, dict) and item.get("system") == BUNDLE_IDENTIFIER:
            value = item.get("value")
            if isinstance(value, str) and value.strip() and len(value) <= 200 and clean_text(value):
                return value.strip()
    return ""


def _entry(raw: Any, i: int, seen: set[str], bundle: ParsedBundle) -> tuple[str, Entry | Result]:
    where = f"Bundle.entry[{i}]"
    if not isinstance(raw, dict):
        return "", _refused(400, "structure", where, "entry-invalid", _("Each entry must be an object."))
    full_url = raw.get("fullUrl")
    if not isinstance(full_url, str) or not full_url.strip():
        msg = _("fullUrl is required (pmd-Bundle-Observation).")
        return "", _refused(400, "required", f"{where}.fullUrl", "full-url-required", msg)
    if len(full_url) > MAX_URL or not clean_text(full_url):
        msg = _("fullUrl must be a URI of at most %(max)s characters.")
        return "", _refused(400, "invalid", f"{where}.fullUrl", "full-url-invalid", msg, max=MAX_URL)
    if full_url in seen:
        msg = _("fullUrl must be unique within the Bundle.")
        return full_url, _refused(400, "duplicate", f"{where}.fullUrl", "full-url-repeated", msg)
    seen.add(full_url)
    number = bundle.municipality_number
    if bundle.type == "collection":  # no request: each entry is a create
        resource = raw.get("resource")
        if not isinstance(resource, dict):
            return full_url, _refused(400, "required", f"{where}.resource", "resource-required", RESOURCE_REQUIRED)
        return full_url, Entry(resource=resource, method="POST", municipality_number=number)
    request = raw.get("request")
    if not isinstance(request, dict):
        msg = _("request is required (pmd-Bundle-Observation).")
        return full_url, _refused(400, "required", f"{where}.request", "request-required", msg)
    method = request.get("method")
    if method not in ("POST", "PUT"):
        msg = _("request.method must be POST or PUT (pmd-bundle-requests).")
        return full_url, _refused(405, "not-supported", f"{where}.request.method", "request-method", msg)
    resource = raw.get("resource")
    if not isinstance(resource, dict):
        return full_url, _refused(400, "required", f"{where}.resource", "resource-required", RESOURCE_REQUIRED)
    if_none_exist = request.get("ifNoneExist", "")
    if not isinstance(if_none_exist, str) or not clean_text(if_none_exist) or len(if_none_exist) > MAX_URL:
        msg = _("ifNoneExist must be a search.")
        return full_url, _refused(400, "invalid", f"{where}.request.ifNoneExist", "if-none-exist-invalid", msg)
    target = _target(request.get("url"), method, f"{where}.request.url")
    if isinstance(target, Result):
        return full_url, target
    put_id, note = target
    if note is not None:
        bundle.notes[i] = [note]
    return full_url, Entry(
        resource=resource, method=method, put_id=put_id, if_none_exist=if_none_exist, municipality_number=number
    )


def _target(url: Any, method: Method, where: str) -> Result | tuple[str, Issue | None]:
    """The PUT id from request.url (``Observation/{id}``, relative or absolute); "" for POST.

    A url that names no resource at all (the guide's own example says "test.url") is
    ignored with a warning: the resource carries its identity.
    """
    if not isinstance(url, str) or len(url) > MAX_URL or not clean_text(url):
        msg = _("request.url is required: Observation or Observation/{id}.")
        return _refused(400, "required", where, "request-url-required", msg)
    parts = urlsplit(url.strip())
    if parts.query:
        msg = _("Conditional update (a search in request.url) is not supported.")
        return _refused(400, "not-supported", where, "request-url-conditional", msg)
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[-1] == "Observation":
        if method == "PUT":
            return _refused(400, "invalid", where, "request-url-invalid", _("PUT needs request.url Observation/{id}."))
        return "", None
    if len(segments) >= 2 and segments[-2] == "Observation":
        if method == "POST":
            msg = _("POST goes to Observation; use PUT for Observation/{id}.")
            return _refused(400, "invalid", where, "request-url-invalid", msg)
        if not FHIR_ID.fullmatch(segments[-1]):
            msg = _("The id in request.url is not a FHIR id ([A-Za-z0-9-.]{1,64}).")
            return _refused(400, "invalid", where, "request-url-invalid", msg)
        return segments[-1], None
    if any(RESOURCE_TYPE.fullmatch(s) for s in segments[-2:]):
        msg = _("Only Observation entries are accepted.")
        return _refused(400, "not-supported", where, "request-url-type", msg)
    msg = _("request.url %(url)r names no Observation; ignored (the resource identifies itself).")
    return "", Issue("warning", "informational", where, Said("request-url-ignored", msg, url=url[:80]))


def _refused(status: int, code: str, where: str, said: str, message: Any, /, **values: Any) -> Result:
    return Result(status, [error(code, where, said, message, **values)])


def response(bundle: ParsedBundle, results: list[Result], language: str) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Bundle", "id": str(uuid.uuid4())}
    if bundle.type != "transaction":
        body["meta"] = {"profile": [RESPONSE_PROFILE]}
    body["type"] = "transaction-response" if bundle.type == "transaction" else "batch-response"
    with translation.override(language):
        body["entry"] = [_response_entry(url, result) for url, result in zip(bundle.full_urls, results, strict=True)]
    return body


def _response_entry(full_url: str, result: Result) -> dict[str, Any]:
    """One entry of the response; its outcome worded in the active language."""
    answer: dict[str, Any] = {}
    if full_url:
        answer["extension"] = [{"url": ENTRY_ID_EXTENSION, "valueUri": full_url}]
    answer["status"] = status_line(result.status)
    if result.recorded is not None and result.ok:
        version = result.recorded.version
        answer["location"] = f"Observation/{result.recorded.measurement_id}/_history/{version}"
        answer["etag"] = f'W/"{version}"'
    if result.issues:
        answer["outcome"] = {"resourceType": "OperationOutcome", "issue": [issue.as_fhir() for issue in result.issues]}
    return {"fullUrl": full_url, "response": answer} if full_url else {"response": answer}


def status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _transaction_failure(results: list[Result]) -> tuple[int, list[Issue]]:
    """The answer to a failed transaction: the first failure's status, every failing entry's errors."""
    failed = [(i, r) for i, r in enumerate(results) if r.status >= 300]
    issues = [
        Issue("error", issue.code, _within(i, issue.expression), issue.said)
        for i, result in failed
        for issue in result.issues
        if issue.severity == "error"
    ]
    msg = _("The transaction failed in %(failed)s of %(total)s entries; nothing was stored.")
    note = error("processing", "Bundle", "transaction-failed", msg, failed=len(failed), total=len(results))
    return failed[0][1].status, [note, *issues]


def _within(i: int, expression: str) -> str:
    """An entry's issue path, seen from the Bundle (Observation.x -> Bundle.entry[i].resource.x)."""
    if expression.startswith("Bundle."):
        return expression
    if expression.startswith("Observation"):
        return f"Bundle.entry[{i}].resource{expression.removeprefix('Observation')}"
    return f"Bundle.entry[{i}]"
