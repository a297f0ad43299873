"""Reading the rows of the previous (Convex) system's exports: files, mapping, plans, reports."""
