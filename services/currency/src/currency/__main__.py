"""`python -m currency`: the web process (see the Procfile)."""

from chassis import serve

from currency.app import create_currency_app

if __name__ == "__main__":
    serve(create_currency_app)
