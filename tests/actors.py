"""The clinician the sharing-level tests act as, built directly (the portal's tests log in
through devidp instead): Ingrid Berg, a physician at Lovisenberg's medical clinic."""

from dataclasses import replace

from devdata import demo
from sharing.core.actor import Actor, Role

INGRID = Actor(
    sub="sub-ingrid",
    pid="12837826592",
    hpr_number="565501872",
    name="Ingrid Berg",
    security_level="4",
    orgnr_parent=demo.LOVISENBERG,
    orgnr_child=demo.LOVISENBERG_MEDICAL,
    roles=frozenset({Role.CLINICIAN}),
)
# The same, as the portal logs her: with her organisations' names and the portal's client id.
INGRID_AT_LOVISENBERG = replace(
    INGRID,
    org_parent_name="Lovisenberg Diakonale Sykehus",
    org_child_name="Lovisenberg, medisinsk klinikk",
    client_id="maaledata-portal",
)
