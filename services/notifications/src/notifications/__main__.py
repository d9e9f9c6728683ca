"""`python -m notifications`: the worker process (see the Procfile). No API port; the ops
port (OPS_PORT) serves /healthz and /readyz."""

from chassis.worker import serve_worker

from notifications.app import create_worker

if __name__ == "__main__":
    serve_worker(create_worker)
