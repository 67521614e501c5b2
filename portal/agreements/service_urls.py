"""The service admin's pages (/tjeneste/): the organisations that read, their units and admins."""

from django.urls import path

from .views import organisations

app_name = "service"

urlpatterns = [
    path("virksomheter/", organisations.organisation_list, name="organisations"),
    path("virksomheter/<str:orgnr>/", organisations.organisation_detail, name="organisation"),
    path("virksomheter/<str:orgnr>/administratorer/<int:pk>/fjern/", organisations.admin_remove, name="admin-remove"),
]
