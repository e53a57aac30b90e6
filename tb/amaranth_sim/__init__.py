"""Drivers for Amaranth-simulator tests: stream put/get with seeded stalls, the update controller's
producer and slot monitor."""
