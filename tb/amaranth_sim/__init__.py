"""Drivers for Amaranth-simulator tests: stream put/get with seeded stalls, the update controller's
register setter, producer and slot monitor."""
