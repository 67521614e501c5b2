from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import views

app_name = "fhir"

# The FHIR API authenticates with bearer tokens, not the portal's login session.
urlpatterns = [
    path("metadata", login_not_required(views.Metadata.as_view()), name="metadata"),
    path("Observation", login_not_required(views.ObservationCreate.as_view()), name="observation-create"),
]
