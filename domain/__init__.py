"""The lead ledger's pure core: the Lead aggregate, its events, value types and rules.

Imports nothing from the project's other packages.
"""
