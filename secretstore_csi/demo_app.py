"""The demo's facts that the program and the verify command share.

hello-server (github.com/dirien/hello-server) serves the file named by $FILE on /read,
listens on $PORT (8080 when unset) and prints every variable whose name starts with TEST
to its log when it starts. Importing this module needs no SDK.
"""

from __future__ import annotations

IMAGE = "ghcr.io/dirien/hello-server/hello-server:latest"
PORT = 8080
# The image is built by ko on Chainguard's static base, which runs as this user.
UID = 65532

MOUNT_PATH = "/mnt/secrets-store"
VOLUME = "secrets-store-inline"

SERVED_FILE_VARIABLE = "FILE"
# Variables hello-server reads itself: a synced secret of that name would change its
# behaviour (PORT=<secret> is printed to the log before the server fails to listen).
READ_BY_SERVER = ("FILE", "PORT")
# hello-server logs every variable with this prefix, value included, when it starts.
LOGGED_PREFIX = "TEST"
