import os

# The test suite runs with production-like settings; only the secret and the TLS redirect
# (the test client speaks plain HTTP) are set here.
os.environ.setdefault("HUB_SECRET_KEY", "test-only-not-a-secret")
os.environ.setdefault("HUB_SECURE_SSL_REDIRECT", "0")
