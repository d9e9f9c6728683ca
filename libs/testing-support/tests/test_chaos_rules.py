"""The chaos run's rules on made-up records: each rule catches what it is for, and an
honest run breaks none."""

from mosaic_testing.chaos.answers import (
    DECLINED,
    GOOD,
    PROCESSOR_TIMES_OUT,
    Checkout,
    OrderPage,
    Said,
)
from mosaic_testing.chaos.checks import Order, count_emails, violations


def checkout(email: str, card: str, *said: Said, page: OrderPage | None = None,
             reason: str = "") -> Checkout:  # fmt: skip
    made = Checkout(email, card, 0.0, list(said), reason_shown=reason)
    if page is not None:
        made.order_page.append(page)
    return made


def confirmed(email: str) -> Order:
    return Order("o-" + email, email, "confirmed", paid=1, net=1000, shipments=1, emails=1)


def cancelled(email: str, *refused: str) -> Order:
    return Order("o-" + email, email, "cancelled", refused=list(refused))


def rules(checkouts: list[Checkout], orders: list[Order]) -> list[str]:
    return sorted(v.rule for v in violations(checkouts, orders))


def test_an_honest_run_breaks_no_rule() -> None:
    checkouts = [
        checkout("a", GOOD, Said.PLACED, page=OrderPage.CONFIRMED),
        checkout("b", DECLINED, Said.REFUSED, reason="Your card was declined. Please use..."),
        checkout("c", PROCESSOR_TIMES_OUT, Said.REFUSED,
                 reason="The card processor did not answer in time. Nothing was charged"),
        checkout("d", GOOD, Said.MAY_BE_PLACED, Said.PLACED, page=OrderPage.CONFIRMED),
        checkout("e", GOOD, Said.MAY_BE_PLACED, Said.NOT_PLACED),  # died before the charge
        checkout("f", GOOD, Said.UNAVAILABLE),  # nothing placed: "unavailable" is the truth
        checkout("g", DECLINED, Said.UNAVAILABLE),  # nor here: payments never saw the card
    ]  # fmt: skip
    orders = [confirmed("a"), cancelled("b", "card_declined"),
              cancelled("c", "processor_timeout"), confirmed("d"), cancelled("e")]  # fmt: skip
    assert rules(checkouts, orders) == []


def test_the_services_disagreeing_on_an_order_is_caught() -> None:
    checkouts = [checkout(e, GOOD, Said.PLACED, page=OrderPage.CONFIRMED) for e in "abcd"]
    twice = confirmed("a")
    twice.paid = 2
    unshipped, silent, pending = confirmed("b"), confirmed("c"), confirmed("d")
    unshipped.shipments, silent.emails, pending.step = 0, 2, "shipping"
    assert rules(checkouts, [twice, unshipped, silent, pending]) == [
        "charge", "email", "not-ended", "shipment"]  # fmt: skip


def test_a_refusal_shown_as_unavailable_or_without_its_reason_is_caught() -> None:
    checkouts = [
        checkout("a", DECLINED, Said.UNAVAILABLE),  # item 11
        checkout("b", PROCESSOR_TIMES_OUT, Said.MAY_BE_PLACED, Said.NOT_PLACED),
    ]
    orders = [cancelled("a", "card_declined"), cancelled("b", "processor_timeout")]
    assert rules(checkouts, orders) == ["refusal-shown-as-unavailable", "refusal-without-reason"]


def test_a_confirmed_order_told_unavailable_or_refused_is_caught() -> None:
    checkouts = [
        checkout("a", GOOD, Said.UNAVAILABLE),  # item 12
        checkout("b", GOOD, Said.MAY_BE_PLACED, Said.NOT_PLACED),
    ]
    assert rules(checkouts, [confirmed("a"), confirmed("b")]) == [
        "confirmed-told-not-placed", "confirmed-told-unavailable"]  # fmt: skip


def test_a_good_card_cancelled_must_be_told_so() -> None:
    checkouts = [
        checkout("a", GOOD, Said.PLACED, page=OrderPage.CONFIRMED),
        checkout("b", GOOD, Said.MAY_BE_PLACED),  # "Check again" never said more
        checkout("c", GOOD, Said.PLACED, page=OrderPage.CANCELLED),  # told, on its page
    ]
    orders = [cancelled("a"), cancelled("b"), cancelled("c")]
    assert rules(checkouts, orders) == ["cancelled-not-told", "cancelled-told-confirmed"]


def test_two_orders_for_one_checkout_and_an_order_of_nobody_are_caught() -> None:
    checkouts = [checkout("a", GOOD, Said.PLACED, page=OrderPage.CONFIRMED)]
    second = confirmed("a")
    second.id = "o-a-2"
    assert rules(checkouts, [confirmed("a"), second, cancelled("z")]) == [
        "duplicate-order", "orphan-order"]  # fmt: skip


def test_a_second_copy_of_one_message_is_one_e_mail_and_another_message_is_two() -> None:
    def message(to: str, message_id: str) -> dict[str, object]:
        return {"to": [f"Shopper <{to}>"], "message_id": message_id, "subject": "Your order"}

    again, twice, once = confirmed("a@x.io"), confirmed("b@x.io"), confirmed("c@x.io")
    none = cancelled("d@x.io")
    mail = [message("a@x.io", "<e1@m>"), message("a@x.io", "<e1@m>"),  # sent again, same id
            message("b@x.io", "<e2@m>"), message("b@x.io", "<e3@m>"),  # two messages
            message("c@x.io", "<e4@m>"), message("cc@x.io", "<e5@m>")]  # fmt: skip
    count_emails([again, twice, once, none], mail)
    assert [(o.emails, o.copies) for o in (again, twice, once, none)] == [
        (1, 1), (2, 0), (1, 0), (0, 0)]  # fmt: skip
    checkouts = [checkout(o.email, GOOD, Said.PLACED, page=OrderPage.CONFIRMED)
                 for o in (again, twice, once)]  # fmt: skip
    assert [v.email for v in violations(checkouts, [again, twice, once])] == ["b@x.io"]
