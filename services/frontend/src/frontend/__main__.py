"""`python -m frontend`: the web process (see Procfile)."""

from chassis import serve

from frontend.app import main_app

if __name__ == "__main__":
    serve(main_app)
