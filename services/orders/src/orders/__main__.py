"""`python -m orders`: the web process (see the Procfile)."""

from chassis import serve

from orders.app import create_orders_app

if __name__ == "__main__":
    serve(create_orders_app)
