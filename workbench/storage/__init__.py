"""Storage: SQLModel tables, engine and migrations, and keyword-only repository functions."""
