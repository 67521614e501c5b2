"""The CapabilityStatement: exactly what the API supports today, nothing more."""

from __future__ import annotations

from typing import Any


def statement(base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-25",
        "kind": "instance",
        "software": {"name": "Måledata portal"},
        "implementation": {"description": "Måledata data-sharing service", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "HelseID bearer tokens (client credentials for ingest).",
                        }
                    ]
                },
                "resource": [
                    {
                        "type": "Observation",
                        "supportedProfile": [
                            "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Heartrate",
                            "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Bloodpressure",
                        ],
                        "interaction": [{"code": "create"}],
                    }
                ],
            }
        ],
    }
