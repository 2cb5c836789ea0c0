"""The pure domain core: scenarios, rubrics, scoring, agreement, privacy, readiness.

Nothing here may import Streamlit, SQL or HTTP libraries (tests/test_architecture.py checks).
"""
