"""Public write interface of integrations (for ops and the staff UI).

The work is done in the modules named by their job (webhooks, inbound, channels); this is
the set other apps may call.
"""

from integrations.inbound import receive_message, reprocess_message
from integrations.webhooks import (
    create_endpoint,
    disable_endpoint,
    replay_deliveries,
    replay_delivery,
    rotate_secret,
    update_endpoint,
)

__all__ = ["create_endpoint", "disable_endpoint", "receive_message", "replay_deliveries", "replay_delivery",
           "reprocess_message", "rotate_secret", "update_endpoint"]
