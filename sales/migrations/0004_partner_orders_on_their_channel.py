"""Orders partners placed through the API before partner channels existed sit on the shared
"api" channel; move them to their customer's partner API channel (`partner-<customer id>`), so
that the partner resending one of its references after the upgrade gets the same order back
(dedupe is per channel) and not a second one. Only orders a partner user submitted for its
own customer move; staff orders on "api" stay."""

from django.db import migrations


def forwards(apps, schema_editor):
    Order = apps.get_model("sales", "Order")
    PartnerAccount = apps.get_model("sales", "PartnerAccount")
    for user_id, customer_id in PartnerAccount.objects.values_list("user_id", "customer_id"):
        Order.objects.filter(channel="api", submitted_by_id=user_id, customer_id=customer_id).update(
            channel=f"partner-{customer_id}")


class Migration(migrations.Migration):
    dependencies = [("sales", "0003_partner_channels")]

    # Backwards leaves them where they are: "partner-<id>" is a valid channel name before, too.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
