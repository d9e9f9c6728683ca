"""The shop's pages: one module per page family, each an APIRouter that `app` includes."""
