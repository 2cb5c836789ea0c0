"""workbench: where the people who know a helpline best make its chatbot better."""

__version__ = "0.1.0"
