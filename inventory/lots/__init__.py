"""An item as a lot on a marketplace: one module per marketplace holds everything about its
lots -- how ours are marked, what "confirmed" holds, whether a lot matches an item, and the
step that makes it match -- used by the sync and by the reconciliation alike."""
