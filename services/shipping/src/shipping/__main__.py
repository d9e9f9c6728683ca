"""`python -m shipping`: the web process (see the Procfile)."""

from chassis import serve

from shipping.app import create_shipping_app

if __name__ == "__main__":
    serve(create_shipping_app)
