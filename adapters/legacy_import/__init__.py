"""Importing contacts and notes exported from the team's previous (Convex) system."""
