"""Cash management: bank accounts, statement import and matching, refunds, supplier
payment runs (ISO 20022 pain.001). Models live in finance.banking.models (loaded by
finance.models, so they belong to the finance app); writes in finance.services.banking,
finance.services.refunds and finance.services.payment_runs."""
