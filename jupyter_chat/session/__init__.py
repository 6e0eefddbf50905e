"""The one path every front end takes: resolve (options + the notebook's defaults), prepare,
run (live or replayed, the tool loop), record and file the turn; the notebook's state."""
