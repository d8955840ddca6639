"""Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEYS.

    manage.py rotate_encryption_keys [--batch 500]

Put the new key first, deploy, run this, then drop the old key. It walks each
table in primary-key order in batches, each batch in its own transaction, and
records its position in var/, so an interrupted run resumes where it stopped.
Rows already under the first key are rewritten too (cheap, and idempotent).
"""

from __future__ import annotations

import json

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from project.crypto import EncryptedJSONField, EncryptedTextField, rotate_token


def encrypted_columns():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, (EncryptedTextField, EncryptedJSONField))]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = "Re-encrypt all personal data with the first FIELD_ENCRYPTION_KEYS key (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--restart", action="store_true", help="Ignore a saved position and start over.")

    def handle(self, *args, **options):
        state_path = settings.VAR_DIR / "rotate_encryption_keys.json"
        state = {} if options["restart"] or not state_path.exists() else json.loads(state_path.read_text())
        total = 0
        for model, fields in encrypted_columns():
            table, pk = model._meta.db_table, model._meta.pk.column
            label = model._meta.label
            position = state.get(label)
            if position == "done":
                continue
            columns = [f.column for f in fields]
            qn = connection.ops.quote_name
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    where = f"WHERE {qn(pk)} > %s " if position is not None else ""
                    cursor.execute(
                        f"SELECT {qn(pk)}, {', '.join(qn(c) for c in columns)} FROM {qn(table)} {where}"
                        f"ORDER BY {qn(pk)} LIMIT %s" + (" FOR UPDATE" if connection.vendor == "mysql" else ""),
                        ([position] if position is not None else []) + [options["batch"]],
                    )
                    rows = cursor.fetchall()
                    for row in rows:
                        updates = {c: rotate_token(v) for c, v in zip(columns, row[1:]) if v}
                        if updates:
                            cursor.execute(
                                f"UPDATE {qn(table)} SET {', '.join(f'{qn(c)} = %s' for c in updates)} WHERE {qn(pk)} = %s",
                                [*updates.values(), row[0]],
                            )
                    total += len(rows)
                if not rows:
                    break
                position = rows[-1][0]
                state[label] = position if isinstance(position, (int, str)) else str(position)
                state_path.write_text(json.dumps(state, default=str))
            state[label] = "done"
        state_path.unlink(missing_ok=True)
        self.stdout.write(f"re-encrypted {total} rows")
