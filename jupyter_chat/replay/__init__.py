"""The store of recordings and replayed calls."""
