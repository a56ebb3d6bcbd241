"""Staff web UI: server-rendered Django templates (templates/web/), htmx and Chart.js vendored
under static/vendor/ (no CDN, no build step). Mounted at "/" in namespace "web".

Layout
    access.py   who may open what (staff_page decorator), navigation per role
    views/      dashboards, orders (order desk), stock, finance, queue (exceptions,
                integrations, reconciliations) — reads through selectors/read-only
                queries, every write through the owning app's services
    queries.py  dashboard figures from the owners' selectors, shaped for the templates
    tables.py   one list component: filters, pagination, empty state, CSV export (?format=csv)
    charts.py   chart specs; every chart also carries a table of its figures
    trace.py    an order's timeline from ops' trace of its correlation id

Roles (admin passes everywhere; partners get 403 on every page — they use the API):
    operations  operations dashboard, orders (place, ship, cancel, return), stock, purchasing
    finance     finance dashboard, invoices, payments, credit notes, reports, periods, release hold
    support     support + integrations dashboards, exception queue, deliveries, inbound, returns
    everyone    orders (read), exception queue, reconciliation runs
"""
