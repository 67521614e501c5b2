from django.urls import path

from . import views

app_name = "clinician"

urlpatterns = [
    path("", views.search, name="search"),
]
