"""Utilities, as ``torch.utils``."""
