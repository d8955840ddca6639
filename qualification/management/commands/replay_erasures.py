"""Apply every erasure in the erasure log again: run after restoring a backup."""

from django.core.management.base import BaseCommand

from qualification.services import erasures_replay


class Command(BaseCommand):
    help = "Re-apply logged RGPD erasures (idempotent), e.g. after restoring a database backup."

    def handle(self, *args, **options):
        count = erasures_replay()
        self.stdout.write(f"re-applied {count} erasure(s)")
