from django.db import migrations, models


class Migration(migrations.Migration):
    """The lead list's (-created, -id) order in its indexes. The new indexes
    come first: MySQL refuses to drop an index that backs the agency foreign
    key while no other one does."""

    dependencies = [
        ('chat', '0008_preview'),
        ('qualification', '0006_flowversion_authors'),
        ('tenancy', '0002_invitations'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(fields=['agency', 'status', '-created', '-id'], name='lead_agency_status_id'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(fields=['agency', '-created', '-id'], name='lead_agency_created_id'),
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_agency_status',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_agency_created',
        ),
    ]
