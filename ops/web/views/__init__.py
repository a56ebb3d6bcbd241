"""Staff web UI views, one module per area (dashboards, orders, stock, finance, queue)."""
