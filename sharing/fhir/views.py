"""One API view per FHIR interaction; they parse, call one function, and render."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.measurements.normalise import RejectedObservation

from . import capability
from .auth import ApiClient, BearerTokenAuthentication, CanWriteObservations
from .errors import operation_outcome, outcome
from .ingest import SenderNotAllowed, create_observation
from .parsers import FHIRJSONParser, PlainJSONParser
from .renderers import FHIRJSONRenderer, JSONAsFHIRRenderer

RENDERERS = [FHIRJSONRenderer, JSONAsFHIRRenderer]
PARSERS = [FHIRJSONParser, PlainJSONParser]


class ObservationCreate(APIView):
    """POST /fhir/Observation: store one VkpObservation for the token's municipality."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [CanWriteObservations]
    parser_classes = PARSERS
    renderer_classes = RENDERERS

    def post(self, request: Request) -> Response:
        client = request.user
        if not isinstance(client, ApiClient):  # CanWriteObservations has let only clients through
            raise exceptions.NotAuthenticated()
        try:
            accepted = create_observation(resource=request.data, client=client)
        except SenderNotAllowed as exc:
            return Response(outcome("error", "forbidden", exc.message), status=status.HTTP_403_FORBIDDEN)
        except RejectedObservation as exc:
            return Response(operation_outcome(exc.issues), status=status.HTTP_400_BAD_REQUEST)
        location = f"{reverse('fhir:observation-create')}/{accepted.recorded.measurement_id}"
        body: dict[str, Any] = {**request.data, "id": str(accepted.recorded.measurement_id)}
        return Response(
            body,
            status=status.HTTP_201_CREATED if accepted.recorded.created else status.HTTP_200_OK,
            headers={"Location": request.build_absolute_uri(location)},
        )


class Metadata(APIView):
    """GET /fhir/metadata: the CapabilityStatement. Public, as FHIR expects."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    renderer_classes = RENDERERS

    def get(self, request: Request) -> Response:
        return Response(capability.statement(request.build_absolute_uri("/fhir")))
