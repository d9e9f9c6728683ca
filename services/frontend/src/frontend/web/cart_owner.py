"""Whose cart a request is about, and the item count the header shows.

An anonymous shopper is a visitor id made on first use and kept in the Valkey session (sent
as `x-visitor-id`; one who only looks gets an id for the request, stored nowhere); a
signed-in one is their access token (`Authorization: Bearer`). At sign-in and sign-up the
visitor's cart is merged into the user's.

The header count lives in the session, updated from every cart answer (add, change, remove,
merge, the cart page): the session is read on every page anyway, so the count costs no call
to cart per page. `GET /v1/carts/current` on each page would be exact even when the same
user changes the cart on another device, but would add a call to every page and tie every
page to cart's health; the count here catches up at the next change or cart-page visit.
"""

import secrets

from chassis import Problem, get_logger

from frontend.clients.accounts import AccountsRefused
from frontend.clients.cart import Cart, CartClient, CartRefused, CartUnavailable
from frontend.clients.owner import Owner
from frontend.web.sessions import Session
from frontend.web.viewer import NotSignedIn, Viewer

VISITOR_KEY = "visitor"
COUNT_KEY = "cart_items"

_log = get_logger("frontend.cart")


def visitor_id(session: Session) -> str:
    found = session.get(VISITOR_KEY)
    if isinstance(found, str) and found:
        return found
    made = secrets.token_urlsafe(24)
    # Looking at an empty cart is no reason to store a session; adding to it is (the count
    # it changes is kept for good), and takes this id along.
    session.note(VISITOR_KEY, made)
    return made


async def owner_of(viewer: Viewer) -> Owner:
    """Whose cart: the user's token when signed in, else the visitor id."""
    if viewer.user is not None:
        try:
            return Owner(token=await viewer.access_token())
        except NotSignedIn:
            pass  # the accounts session ended: this shopper is a visitor again
        except (Problem, AccountsRefused) as error:  # no fresh token: no owner to name
            raise CartUnavailable(f"accounts: {type(error).__name__}") from None
    return Owner(visitor_id=visitor_id(viewer.session))


def remember_count(session: Session, cart: Cart | None) -> None:
    count = cart.item_count if cart is not None else 0
    if session.get(COUNT_KEY, 0) != count:
        session[COUNT_KEY] = count


async def merge_after_sign_in(viewer: Viewer, carts: CartClient) -> None:
    """The visitor's cart joins the user's; a failure is told, never a failed sign-in."""
    try:
        token = await viewer.access_token()
        remember_count(viewer.session, await carts.merge(token, visitor_id(viewer.session)))
    except (CartUnavailable, CartRefused, NotSignedIn) as error:
        _log.warning("cart merge failed", error=type(error).__name__)
        message = "We couldn't bring over the cart from before you signed in. Please try again."
        viewer.session.flash(message, "error")
