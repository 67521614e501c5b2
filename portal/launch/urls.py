from django.urls import path

from . import views

urlpatterns = [
    path("launch/", views.launch, name="launch"),
    path("launch/callback/", views.callback, name="launch-callback"),
    path("launch/bekreft/<str:key>/", views.confirm, name="launch-confirm"),
    path("launch/bekreft/<str:key>/koble/", views.join, name="launch-join"),
    path("launch/innlogget/", views.logged_in, name="launch-logged-in"),
]
