"""Replay every lead's events and compare (or restore) its stored state.

`manage.py rebuild_leads` reports leads whose stored projection differs from
the fold of their events; `--fix` writes the replayed state back. Exit code 1
when a difference was found and not fixed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scopes_disabled

from qualification.models import Lead
from qualification.projection import fold
from qualification.selectors import lead_events_all
from qualification.services import lead_projection_matches, lead_projection_write


class Command(BaseCommand):
    help = "Replay LeadEvents and check that they reproduce every stored lead exactly."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Write the replayed state back to differing leads.")
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args, **options):
        checked = differing = 0
        with scopes_disabled():
            ids = list(Lead.objects.order_by("created").values_list("id", flat=True))
        for start in range(0, len(ids), options["batch"]):
            with scopes_disabled():
                leads = list(Lead.objects.filter(id__in=ids[start:start + options["batch"]]))
            for lead in leads:
                state = fold(lead_events_all(lead))
                checked += 1
                problems = lead_projection_matches(lead, state)
                if problems:
                    differing += 1
                    self.stderr.write(f"lead {lead.id}: {', '.join(problems)}")
                    if options["fix"]:
                        with transaction.atomic(), scopes_disabled():
                            lead_projection_write(lead=Lead.objects.select_for_update().get(id=lead.id), state=state)
        self.stdout.write(f"checked {checked} leads, {differing} differed{' (fixed)' if options['fix'] and differing else ''}")
        if differing and not options["fix"]:
            raise SystemExit(1)
