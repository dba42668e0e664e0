"""Synthetic-data factory: Chinese text rendered onto backgrounds with exact annotations."""
