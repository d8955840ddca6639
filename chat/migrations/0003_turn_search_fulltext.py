from django.db import migrations


def add_fulltext(apps, schema_editor):
    # FULLTEXT over blind word tokens (project.search); other databases fall
    # back to LIKE in conversations_list.
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute("CREATE FULLTEXT INDEX turn_search_ft ON chat_turn (search_tokens)")


def drop_fulltext(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute("DROP INDEX turn_search_ft ON chat_turn")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("chat", "0002_initial")]
    operations = [migrations.RunPython(add_fulltext, drop_fulltext)]
