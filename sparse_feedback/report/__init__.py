"""Figures and the self-contained HTML report built on the analyses (shared by the CLI and the dashboards)."""
