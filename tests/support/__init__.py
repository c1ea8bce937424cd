"""Helpers the test folders share: specs, waits, databases, stacks of real processes."""
