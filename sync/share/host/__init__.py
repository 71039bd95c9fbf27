"""The SMART Health Link host server.

- routes: the ASGI app that serves links (`/shl`), their files and the doctor's viewer; `publish` puts a share in
- store: what the host keeps (ciphertext only) in SQLite or PostgreSQL, and the sealed access log
- viewer_assets and viewer/: the doctor-facing viewer's static files and the headers they are served with
- reach: whether a link's address can be opened from outside this computer
- hosting/: `carry host`, the host on its own (publish API, device credentials, PostgreSQL, the app's client of it)
"""
