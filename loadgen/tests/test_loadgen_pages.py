"""Reading the shop's pages: the facts each flow needs, from markup shaped like the
frontend's templates."""

from loadgen import pages

HOME = """
<header>
  <form class="currency-form" method="post" action="/currency" hx-post="/currency">
    <input type="hidden" name="csrf_token" value="tok-EN_1&amp;x">
    <input type="hidden" name="next" value="/">
    <select class="currency-form__select" id="currency-select" name="currency">
      <option value="EUR">EUR</option>
      <option value="USD" selected>USD</option>
      <option value="JPY">JPY</option>
    </select>
  </form>
  <nav class="account-nav" aria-label="Your account">
    <a class="account-nav__cart" href="/cart">Cart
      <span class="cart-count" id="cart-count">(3)</span></a>
  </nav>
  <a href="/category/kitchen">Kitchen</a> <a href="/category/home">Home</a>
</header>
<a href="/product/ink-bottle">Ink</a> <a href="/product/brass-compass">Compass</a>
<a href="/product/ink-bottle"><img></a> <a href="/product/Bad_Id">not an id</a>
<a href="/category/kitchen">again</a>
"""

CHECKOUT = """
<form class="search-form" role="search" action="/search" method="get"></form>
<form class="checkout__form" method="post" action="/checkout" novalidate
      hx-target="#shipping-options">
  <input type="hidden" name="csrf_token" value="abc">
  <input type="hidden" name="idempotency_key" value="key-1">
  <input class="field__input" id="checkout-email" name="email" value="">
  <input type='hidden' name=saved_address value=new>
  <input type="radio" name="shipping_option" value="standard" checked>
</form>
"""


def test_products_are_read_from_links_once_each_in_page_order() -> None:
    assert pages.products(HOME) == ["ink-bottle", "brass-compass"]


def test_categories_are_read_from_the_menu() -> None:
    assert pages.categories(HOME) == ["kitchen", "home"]


def test_the_csrf_token_is_unescaped() -> None:
    assert pages.csrf_token(HOME) == "tok-EN_1&x"
    assert pages.csrf_token("<p>no form</p>") is None


def test_currencies_on_offer_and_the_chosen_one() -> None:
    assert pages.currencies(HOME) == ["EUR", "USD", "JPY"]
    assert pages.chosen_currency(HOME) == "USD"
    assert pages.currencies("<select name='q'><option value='EUR'></select>") == []


def test_the_header_cart_count() -> None:
    assert pages.cart_count(HOME) == 3
    assert pages.cart_count("<p>a fragment</p>") is None


def test_hidden_fields_of_the_form_posting_to_an_action() -> None:
    assert pages.hidden_fields(CHECKOUT, "/checkout") == {
        "csrf_token": "abc",
        "idempotency_key": "key-1",
        "saved_address": "new",
    }
    assert pages.hidden_fields(CHECKOUT, "/search") == {}
    assert pages.hidden_fields(CHECKOUT, "/cart/items") is None


def test_attributes_in_any_quoting_and_without_values() -> None:
    assert pages.attributes(" type=\"hidden\" name='a' value=b&amp;c checked") == {
        "type": "hidden",
        "name": "a",
        "value": "b&c",
        "checked": "",
    }


def test_cart_lines_from_their_remove_forms() -> None:
    cart = (
        '<form method="post" action="/cart/items/ink-bottle/remove"></form>'
        '<form method="post" action="/cart/items/ink-bottle"></form>'
        '<form method="post" action="/cart/items/canvas-tote/remove"></form>'
    )
    assert pages.cart_lines(cart) == ["ink-bottle", "canvas-tote"]


def test_order_status_flashes_and_the_signed_in_header() -> None:
    order = (
        '<p class="order__status order__status--confirmed">Confirmed</p>'
        '<div class="flashes" role="status"><p class="flash flash--success">Added to your'
        ' cart.</p><p class="flash flash--error">Can&#39;t add more</p></div>'
        '<a class="account-nav__name" href="/account">Ada</a>'
    )
    assert pages.order_status(order) == "confirmed"
    assert pages.order_status("<p>no order</p>") is None
    assert pages.flashes(order) == [("success", "Added to your cart."), ("error", "Can't add more")]
    assert pages.signed_in(order)
    assert not pages.signed_in(HOME)


def test_requests_are_named_by_route_without_ids() -> None:
    assert pages.route("/product/ink-bottle") == "/product/[id]"
    assert pages.route("/orders/status/AbC_12") == "/orders/status/[token]"
    assert pages.route("/orders/5e3c0b1e-0000-4000-8000-000000000000") == "/orders/[id]"
    assert pages.route("/cart/items/ink-bottle/remove") == "/cart/items/[id]/remove"
    assert pages.route("/category/kitchen?page=2") == "/category/[slug]"
    assert pages.route("/account/orders") == "/account/orders"
    assert pages.route("/?page=2") == "/"
