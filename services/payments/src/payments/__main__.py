"""`python -m payments`: the web process (see the Procfile)."""

from chassis import serve

from payments.app import create_payments_app

if __name__ == "__main__":
    serve(create_payments_app)
