"""The access log's event codes: one enumeration of namespaced codes, each with its label.

The vocabulary every layer uses when it writes to the log (`sharing.audit.actions.record_event`)
or reads it (filters, review rules, the patient's report). A `TextChoices` is a `str` enum with a
translatable label, so a member is stored and compared as its code ("patient.lookup") and the
codes already in the log keep their meaning. What the namespaces mean, and the rules that read
them, are in `sharing/audit/events.py`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    # Reading patient data: in the portal, and through the FHIR API on a user's behalf.
    PATIENT_LOOKUP = "patient.lookup", _("Patient lookup")
    PATIENT_VIEW = "patient.view", _("Patient page viewed")
    PATIENT_EXPORT = "patient.export", _("Measurements exported")
    API_SEARCH = "api.search", _("API search for measurements")
    API_READ = "api.read", _("API read of a measurement")
    API_LASTN = "api.lastn", _("API read of latest measurements")
    API_EXPORT = "api.export", _("Bulk export of a municipality's measurements")
    # Changes to who may see what.
    AGREEMENT_CREATE = "agreement.create", _("Agreement created")
    AGREEMENT_EDIT = "agreement.edit", _("Agreement draft edited")
    AGREEMENT_ACTIVATE = "agreement.activate", _("Agreement activated")
    AGREEMENT_AMEND = "agreement.amend", _("Agreement amended")
    AGREEMENT_SUSPEND = "agreement.suspend", _("Agreement suspended")
    AGREEMENT_RESUME = "agreement.resume", _("Agreement resumed")
    AGREEMENT_TERMINATE = "agreement.terminate", _("Agreement terminated")
    RESERVATION_CREATE = "reservation.create", _("Reservation recorded")
    RESERVATION_LIFT = "reservation.lift", _("Reservation lifted")
    ROLE_GRANT = "role.grant", _("Role granted")
    ROLE_REVOKE = "role.revoke", _("Role revoked")
    # Login sessions.
    USER_LOGIN = "user.login", _("Login")
    USER_LOGOUT = "user.logout", _("Logout")
    USER_UNIT_CHOSEN = "user.unit.chosen", _("Unit chosen")
    USER_UNIT_REFUSED = "user.unit.refused", _("Organisation or unit refused")
    USER_SESSION_EXPIRED = "user.session.expired", _("Session expired")
    USER_SESSION_JOINED = "user.session.joined", _("Login handed to the patient record's frame")
    # A start from a hospital record (SMART on FHIR EHR launch) that the portal refused.
    LAUNCH_REFUSED = "launch.refused", _("Start from the patient record refused")
    # Who may act for an organisation (its own admin's register).
    MEMBERSHIP_ADD = "membership.add", _("Member added")
    MEMBERSHIP_END = "membership.end", _("Membership ended")
    # Measurements as they arrive, and the register of organisations.
    INGEST_CORRECTED = "ingest.corrected", _("Measurement corrected by the sender")
    INGEST_REFUSED = "ingest.refused", _("Measurement refused")
    ORGANISATION_REGISTER = "organisation.register", _("Organisation registered")
    ORGANISATION_MUNICIPALITY_NUMBER = "organisation.municipality_number", _("Municipality number recorded")
    # The processor's register: processing agreements and who may send for which municipality.
    PROCESSING_AGREEMENT_RECORD = "processing_agreement.record", _("Data processing agreement recorded")
    SENDER_AUTHORISE = "sender.authorise", _("Sender authorised for a municipality")
    SENDER_END = "sender.end", _("Sender authorisation ended")
    # Measurements deleted: past retention, or one patient's on the municipality's instruction.
    MEASUREMENT_PURGE = "measurement.purge", _("Measurements past retention deleted")
    MEASUREMENT_DELETION_REQUEST = "measurement.deletion_request", _("Deletion of a patient's data asked for")
    MEASUREMENT_DELETE = "measurement.delete", _("A patient's data deleted on instruction")
    # A D-number or FHN replaced by a fødselsnummer: the history is read under either number.
    IDENTITY_LINK = "identity.link", _("Patient numbers linked")
    # Finished Bulk Data exports removed after their retention (their files are gone).
    EXPORT_PURGE = "export.purge", _("Old bulk exports removed")
    # The auditors' work and the log's upkeep.
    AUDIT_SEARCH = "audit.search", _("Access log searched")
    AUDIT_REVIEW_QUEUE = "audit.review_queue", _("Review queue viewed")
    AUDIT_REVIEW = "audit.review", _("Review item marked reviewed")
    AUDIT_PATIENT_REPORT = "audit.patient_report", _("Patient access report made")
    AUDIT_PURGE = "audit.purge", _("Expired log records removed")
    FHIR_AUDITEVENT_SEARCH = "fhir.auditevent.search", _("API read of the access log")
