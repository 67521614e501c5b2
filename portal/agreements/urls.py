from django.urls import path

from .views import agreements, deletion, identities, processing, quality, register, reservations, roles

app_name = "agreements_admin"

urlpatterns = [
    path("avtaler/", agreements.agreement_list, name="list"),
    path("avtaler/ny/", agreements.agreement_create, name="create"),
    path("avtaler/<int:pk>/", agreements.agreement_detail, name="detail"),
    path("avtaler/<int:pk>/endre/", agreements.agreement_edit, name="edit"),
    path("avtaler/<int:pk>/aktiver/", agreements.agreement_step, {"step": "activate"}, name="activate"),
    path("avtaler/<int:pk>/suspender/", agreements.agreement_step, {"step": "suspend"}, name="suspend"),
    path("avtaler/<int:pk>/gjenoppta/", agreements.agreement_step, {"step": "resume"}, name="resume"),
    path("avtaler/<int:pk>/avslutt/", agreements.agreement_step, {"step": "terminate"}, name="terminate"),
    path("reservasjoner/", reservations.reservation_list, name="reservations"),
    path("reservasjoner/<int:pk>/opphev/", reservations.reservation_lift, name="reservation-lift"),
    path("datakvalitet/", quality.ingest_quality, name="quality"),
    path("databehandling/", processing.processing, name="processing"),
    path("sletting/", deletion.deletion_list, name="deletions"),
    path("sletting/<int:pk>/bekreft/", deletion.deletion_confirm, name="deletion-confirm"),
    path("identitet/", identities.identity_links, name="identities"),
    path("register/", register.register, name="register"),
    path("register/avsender/", register.sender_authorise, name="register-sender"),
    path("register/avsender/<int:pk>/avslutt/", register.sender_end, name="register-sender-end"),
    path("register/avtale/", register.agreement_record, name="register-agreement"),
    path("register/avtale/<int:pk>/avslutt/", register.agreement_end, name="register-agreement-end"),
    path("roller/", roles.role_list, name="roles"),
    path("roller/<int:pk>/tilbakekall/", roles.role_revoke, name="role-revoke"),
]
