from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path

from . import auditevent, export_views, read_views, views

app_name = "fhir"

# The FHIR API authenticates with bearer tokens, not the portal's login session.
urlpatterns = [
    path("metadata", login_not_required(views.Metadata.as_view()), name="metadata"),
    path("openapi.json", login_not_required(views.by_method(GET=views.openapi_description)), name="openapi"),
    # Several FHIR interactions share a path: views.by_method gives each method its view.
    path("", views.system, name="system"),
    path(
        "Observation",
        login_not_required(
            views.by_method(POST=views.ObservationCreate.as_view(), GET=read_views.ObservationSearch.as_view())
        ),
        name="observation-create",
    ),
    path(
        "Observation/_search",
        login_not_required(views.by_method(POST=read_views.ObservationSearch.as_view())),
        name="observation-search",
    ),
    path(
        "Observation/$lastn",
        login_not_required(views.by_method(GET=read_views.ObservationLastN.as_view())),
        name="observation-lastn",
    ),
    # {id} is a FHIR id, so Observation/_search and Observation/$lastn never match it.
    re_path(
        r"^Observation/(?P<pk>[A-Za-z0-9\-.]{1,64})$",
        login_not_required(
            views.by_method(PUT=views.ObservationUpdate.as_view(), GET=read_views.ObservationRead.as_view())
        ),
        name="observation-update",
    ),
    re_path(
        r"^Observation/(?P<pk>[A-Za-z0-9\-.]{1,64})/_history$",
        login_not_required(views.by_method(GET=read_views.ObservationHistory.as_view())),
        name="observation-history",
    ),
    re_path(
        r"^Observation/(?P<pk>[A-Za-z0-9\-.]{1,64})/_history/(?P<vid>[A-Za-z0-9\-.]{1,64})$",
        login_not_required(views.by_method(GET=read_views.ObservationHistory.as_view())),
        name="observation-vread",
    ),
    # Bulk Data $export of the client's municipality (docs/fhir-api.md, "Return of data").
    path(
        "$export",
        login_not_required(views.by_method(GET=export_views.ExportKickOff.as_view())),
        name="export",
    ),
    path(
        "$export-status/<str:pk>",
        login_not_required(
            views.by_method(GET=export_views.ExportStatus.as_view(), DELETE=export_views.ExportStatus.as_view())
        ),
        name="export-status",
    ),
    path(
        "$export-file/<str:pk>",
        login_not_required(views.by_method(GET=export_views.ExportFileView.as_view())),
        name="export-file",
    ),
    path("AuditEvent", login_not_required(auditevent.AuditEventSearch.as_view()), name="auditevent-search"),
]
