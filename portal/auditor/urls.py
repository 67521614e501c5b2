from django.urls import path

from . import views

app_name = "auditor"

urlpatterns = [
    path("", views.log, name="log"),
    path("gjennomgang/", views.review, name="review"),
    path("gjennomgang/merk/", views.mark, name="mark"),
    path("innsyn/", views.report, name="report"),
]
