"""One writer, many clients: how the CLI reaches a store that a running dashboard holds.

DuckDB lets one process hold a store file for writing, and no other process can open it meanwhile, not even
to read. The running dashboard is therefore the store's one writer, and serves a small HTTP API beside the
app (``app.py``, ``ui/api.py``). This package is the part of it without Streamlit:

- ``endpoint``: the endpoint file the dashboard writes beside the store it holds
  (``<store>.endpoint.json``: url, pid, store path, a per-start local token; mode 0600), and how a client
  tells a live one from a stale one;
- ``client``: the CLI's side: a command sent to the dashboard, its output printed and its exit status
  returned as if the CLI had opened the file;
- ``commands``: the dashboard's side: a CLI command line run in-process on the dashboard's store, files
  the command reads taken from the upload and files it writes sent back, and the role each command needs.
"""
