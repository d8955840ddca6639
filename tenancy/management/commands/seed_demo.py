"""Create (or find again) the demo agency: `manage.py seed_demo [--origin URL]... [--json]`.

Idempotent: a second run changes nothing and prints the same key and
credentials (the password is derived from the deployment's SECRET_KEY, so it
is stable for a checkout and different between deployments).
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_scopes import scope

from tenancy.models import Agency, AllowedOrigin, WidgetKey
from tenancy.origins import InvalidOrigin, normalize_origin
from tenancy.services import agency_create

DEMO_SLUG = "agencia-demo"
DEMO_NAME = "Agencia Demo"
DEMO_EMAIL = "demo@markezy.localhost"


def demo_password() -> str:
    return "demo-" + hashlib.sha256(f"markezy-demo:{settings.SECRET_KEY}".encode()).hexdigest()[:12]


class Command(BaseCommand):
    help = "Create the demo agency, its widget key, owner, default flow and knowledge base (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--origin", action="append", default=[], help="Another allowed origin (repeatable).")
        parser.add_argument("--json", action="store_true", help="Print exactly one JSON object.")

    def handle(self, *args, **options):
        origins = ["http://localhost:8000", *options["origin"]]
        try:
            origins = list(dict.fromkeys(normalize_origin(o) for o in origins))
        except InvalidOrigin as exc:
            raise CommandError(f"--origin: {exc}") from None
        password = demo_password()
        with transaction.atomic():
            agency = Agency.objects.filter(slug=DEMO_SLUG).first()
            if agency is None:
                agency = agency_create(name=DEMO_NAME, owner_email=DEMO_EMAIL, owner_password=password)
                Agency.objects.filter(id=agency.id).update(slug=DEMO_SLUG)
                agency.refresh_from_db()
                agency.settings = {**agency.settings, "privacy_policy": {"url": "http://localhost:8000/privacidad", "version": "1"}}
                agency.save(update_fields=["settings"])
            with scope(agency=agency.id):
                for origin in origins:
                    AllowedOrigin.objects.get_or_create(agency=agency, origin=origin)
                key = WidgetKey.objects.filter(revoked_at__isnull=True).order_by("created").first()
                if key is None:
                    key = WidgetKey.objects.create(agency=agency, name="Principal")
                all_origins = list(AllowedOrigin.objects.order_by("created").values_list("origin", flat=True))
        # Idempotent on its own (a file already loaded, by sha256, is left alone), so it
        # also runs for an agency seeded before the knowledge base existed.
        self._seed_knowledge(agency)
        result = {
            "agency": str(agency.id),
            "widget_key": key.key,
            "origins": all_origins,
            "owner": {"email": DEMO_EMAIL, "password": password},
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"Agency      {agency.name} ({agency.id})\nWidget key  {key.key}\n"
                              f"Origins     {', '.join(all_origins)}\nOwner       {DEMO_EMAIL} / {password}")

    def _seed_knowledge(self, agency) -> None:
        from strategy.knowledge.services import knowledge_seed_demo

        knowledge_seed_demo(agency=agency)
