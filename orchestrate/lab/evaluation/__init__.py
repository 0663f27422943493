"""Recall and precision of flagged users against the injected truth (evaluate), and ablations
of the residual method (ablations)."""
