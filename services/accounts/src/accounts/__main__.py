"""`python -m accounts`: the web process (see the Procfile)."""

from chassis import serve

from accounts.app import create_accounts_app

if __name__ == "__main__":
    serve(create_accounts_app)
