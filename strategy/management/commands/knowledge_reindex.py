"""Index the knowledge base again: `manage.py knowledge_reindex [--agency ID] [--recreate]`.

`--recreate` drops the collection first, for a layout change (an embeddings
key configured after documents were indexed lexically, or a new embeddings
model with another vector size).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from strategy.knowledge.services import knowledge_reindex


class Command(BaseCommand):
    help = "Queue every knowledge document for indexing again (optionally recreating the collection)."

    def add_arguments(self, parser):
        parser.add_argument("--agency", help="Only this agency's documents.")
        parser.add_argument("--recreate", action="store_true", help="Drop and recreate the collection first.")

    def handle(self, *args, **options):
        try:
            count = knowledge_reindex(agency_id=options["agency"], recreate=options["recreate"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{count} documents queued for indexing")
