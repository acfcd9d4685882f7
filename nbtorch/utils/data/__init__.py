"""Datasets and loaders, as ``torch.utils.data`` (filled in by the data work)."""
