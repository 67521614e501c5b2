from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.login import smoke
from sharing import oidc


class Command(BaseCommand):
    help = (
        "Run the HelseID flows against an issuer, step by step: client credentials for a system client "
        "(checked as the API checks tokens) and the portal's user login. docs/helseid.md, 'Smoke test'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--issuer", default="", help="The issuer (default: OIDC_ISSUER).")
        parser.add_argument("--client-id", default="", help="A system client for the client-credentials step.")
        parser.add_argument("--key-file", default="", help="That client's private key (PEM or JWK).")
        parser.add_argument("--scope", default="", help="Scope to ask for (default: FHIR_SCOPE_OBSERVATION_WRITE).")
        parser.add_argument(
            "--redirect-uri", default="", help="Also run the portal's user login, with this registered redirect URI."
        )
        parser.add_argument(
            "--devidp-person",
            default="",
            help="devidp only: log in as this test person without a browser (e.g. ingrid-berg).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["issuer"]:
            settings.OIDC_ISSUER = options["issuer"]
            oidc.forget_cached_metadata()
        if not options["client_id"] and not options["redirect_uri"]:
            raise CommandError("Give --client-id and --key-file, or --redirect-uri, or both.")
        if options["client_id"] and not options["key_file"]:
            raise CommandError("--client-id needs --key-file.")
        report = smoke.Report(write=self.stdout.write)
        self.stdout.write(f"HelseID smoke test against {settings.OIDC_ISSUER}")
        try:
            smoke.discovery(report)
            if options["client_id"]:
                smoke.client_credentials(
                    report,
                    client_id=options["client_id"],
                    key_text=smoke.read_key(options["key_file"]),
                    scope=options["scope"] or settings.FHIR_SCOPE_OBSERVATION_WRITE,
                    resource=settings.FHIR_API_AUDIENCE,
                )
            if options["redirect_uri"]:
                self.user_flow(report, options["redirect_uri"], options["devidp_person"])
        except smoke.StepFailed as exc:
            raise CommandError(f"HelseID smoke test failed at: {exc}") from exc
        self.stdout.write(self.style.SUCCESS("All steps passed."))

    def user_flow(self, report: smoke.Report, redirect_uri: str, person: str) -> None:
        login = smoke.start_login(report, redirect_uri=redirect_uri)
        if person:
            with report.step(f"log in at devidp as {person}") as out:
                redirected_to = smoke.log_in_at_devidp(login, person=person, redirect_uri=redirect_uri)
                out["redirected to"] = redirect_uri
        else:
            self.stdout.write("Open this URL in a browser and log in with a test person (TestIDP):")
            self.stdout.write(f"  {login.authorize_url}")
            self.stdout.write(
                "Then paste the whole address the browser was sent back to (it starts with the redirect URI):"
            )
            redirected_to = input("> ")
        smoke.finish_login(report, login, redirected_to=redirected_to, redirect_uri=redirect_uri)
