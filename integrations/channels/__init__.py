"""Inbound channel adapters. Importing the package registers each channel's parser with
integrations.inbound (parsers turn a stored message into canonical orders)."""

from integrations.channels import csv_orders, edi, shopify, woocommerce  # noqa: F401
