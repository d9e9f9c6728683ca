"""`python -m cart`: the web process (see the Procfile)."""

from chassis import serve

from cart.app import create_cart_app

if __name__ == "__main__":
    serve(create_cart_app)
