from django.urls import path

from . import members, views

urlpatterns = [
    path("innlogging/", views.login_page, name="login"),
    path("innlogging/avvist/", views.refused, name="login-refused"),
    path("innlogging/enhet/", views.unit, name="login-unit"),
    path("innlogging/ingen-tilknytning/", views.no_membership, name="login-no-membership"),
    path("innlogging/enhet/avvist/", views.unit_refused, name="login-unit-refused"),
    path("innlogging/bekreft/", views.FreshAuthenticationRequest.as_view(), name="login-fresh"),
    path("oidc/authenticate/", views.AuthenticationRequest.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", views.AuthenticationCallback.as_view(), name="oidc_authentication_callback"),
    path("utlogging/", views.logout, name="logout"),
    path("virksomhet/medlemmer/", members.member_list, name="members"),
    path("virksomhet/medlemmer/<int:pk>/avslutt/", members.member_end, name="member-end"),
    path("oidc/backchannel-logout/", views.backchannel_logout, name="oidc-backchannel-logout"),
]
