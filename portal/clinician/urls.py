from django.urls import path

from . import views

app_name = "clinician"

urlpatterns = [
    path("", views.search, name="search"),
    path("pasient/<str:key>/", views.patient, name="patient"),
    path("pasient/<str:key>/apne/", views.reopen, name="reopen"),
    path("pasient/<str:key>/eksport/", views.export, name="export"),
    path("pasient/<str:key>/journalnotat/", views.journal, name="journal"),
    path("pasient/<str:key>/<slug:kind>/", views.series, name="series"),
]
