"""How a turn is shown: the bundle (markdown/plain/structured, the one footer), sanitizing,
the throttled live display, the comm to the JupyterLab extension."""
