"""One transport: request building (the profile shapes it), status -> error, the loop thread
with the shared ``httpx.AsyncClient``, retries, and the sync bridge."""
