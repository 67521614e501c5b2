from django.urls import path

from . import views

urlpatterns = [
    path("launch/", views.launch, name="launch"),
    path("launch/callback/", views.callback, name="launch-callback"),
    path("launch/bekreft/<str:key>/", views.confirm, name="launch-confirm"),
]
