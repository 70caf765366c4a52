"""Warehouses: where the analysed tables land for dashboards and SQL clients."""

from tweetsense.warehouse.base import LoadResult, Warehouse

__all__ = ["LoadResult", "Warehouse"]
