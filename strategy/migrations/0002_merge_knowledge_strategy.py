# The knowledge base (0001_knowledge) and the strategy pipeline (0001_strategy)
# were built in parallel as two initial migrations of this app; this joins them
# so the app has one leaf. Neither touches the other's table.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("strategy", "0001_knowledge"),
        ("strategy", "0001_strategy"),
    ]

    operations = []
