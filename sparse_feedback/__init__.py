"""sparse-feedback: collect, compare and learn from ratings and rankings feedback."""

__version__ = "0.1.0"
