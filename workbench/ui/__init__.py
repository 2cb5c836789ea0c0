"""The Streamlit training-day app: entry, page registry, role guard, catalogue and pages."""
