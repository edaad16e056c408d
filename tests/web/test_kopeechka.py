"""kopeechka protocol details: exact keys, error values, TEXT mode, HTTP 200, no stray writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import catalog, ledger, orders, users
from models.base import utcnow
from tests.factories import make_catalog, make_user
from tests.web.test_api import deliver


@pytest.fixture
def token(clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        make_catalog(session)
        user = make_user(session, credit=1000, email="kop@example.com")
        _, key = users.create_api_key(session, user)
        return key


def call(client, path: str, **params):  # type: ignore[no-untyped-def]
    response = client.get(f"/{path}", query_string=params)
    assert response.status_code == 200, response.text
    return response.get_json() if response.is_json else response.text


def order_email(client, token: str, **params) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    body = call(client, "mailbox-get-email", token=token, site="discord", **params)
    assert set(body) == {"status", "id", "mail"}, body
    return body["id"], body["mail"]


def test_balance_is_a_number_in_major_units_with_exactly_two_keys(client, token):  # type: ignore[no-untyped-def]
    assert call(client, "user-balance", token=token, type="JSON", api="2.0") == {
        "status": "OK",
        "balance": 10,
    }
    assert call(client, "user-balance", token=token, type="text") == "OK|10.00"


@pytest.mark.parametrize(
    "path",
    [
        "user-balance",
        "mailbox-get-email",
        "mailbox-get-message",
        "mailbox-cancel",
        "mailbox-reorder",
        "mailbox-get-fresh-id",
        "mailbox-get-domains",
        "mailbox-get-bulk",
        "mailbox-set-comment",
    ],
)
def test_every_endpoint_answers_bad_token_with_http_200(client, token, path):  # type: ignore[no-untyped-def]
    assert call(client, path, token="wrong", site="discord", id="1") == {
        "status": "ERROR",
        "value": "BAD_TOKEN",
    }
    assert call(client, path, type="TEXT") == "ERROR|BAD_TOKEN"


def test_empty_and_unknown_parameters_are_ignored(client, token):  # type: ignore[no-untyped-def]
    order_id, email = order_email(
        client,
        token,
        mail_type="",
        regex="",
        soft="109",
        investor="",
        subject="",
        password="0",
        clear="1",
        spa="1",
        invenstor="",
    )
    assert order_id.isdigit() and email.endswith("@otpinbox.test")
    assert call(client, "mailbox-get-message", token=token, id=order_id, full="") == {
        "status": "ERROR",
        "value": "WAIT_LINK",
    }


def test_text_mode_for_orders_and_messages(client, token, clean_db):  # type: ignore[no-untyped-def]
    text = call(client, "mailbox-get-email", token=token, site="discord", type="TEXT")
    status, order_id, email = text.split("|")
    assert status == "OK" and order_id.isdigit() and "@" in email
    assert call(client, "mailbox-get-message", token=token, id=order_id, type="TEXT") == (
        "ERROR|WAIT_LINK"
    )
    deliver(clean_db, email, code="556677")
    assert call(client, "mailbox-get-message", token=token, id=order_id, type="TEXT") == "556677"
    full = call(client, "mailbox-get-message", token=token, id=order_id, type="TEXT", full="1")
    assert "556677" in full and full != "556677"
    assert call(client, "mailbox-get-message", token=token, id=order_id) == {
        "status": "OK",
        "value": "556677",
        "fullmessage": "",
    }


def test_mail_type_picks_our_domain_or_zone_and_rejects_others(client, token, clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        catalog.add_domain(session, "second.example")
    for mail_type, expected in [
        ("otpinbox.test", ("@otpinbox.test",)),
        ("test", ("@otpinbox.test",)),
        ("example,mail.ru", ("@second.example",)),
        ("ALL,otpinbox.test", ("@otpinbox.test", "@second.example")),  # ALL: any of ours
        ("all", ("@otpinbox.test", "@second.example")),
    ]:
        _, email = order_email(client, token, mail_type=mail_type)
        assert email.endswith(expected), (mail_type, email)
    for foreign in ("mail.ru", "REAL", "OUTLOOK", "mine"):
        assert call(
            client, "mailbox-get-email", token=token, site="discord", mail_type=foreign
        ) == {"status": "ERROR", "value": "BAD_DOMAIN"}


def test_errors_of_get_email_roll_the_request_back(client, token, clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        poor = make_user(session, credit=100)  # discord costs 150
        _, poor_key = users.create_api_key(session, poor)
    cases = [
        ({"token": poor_key, "site": "discord"}, "BAD_BALANCE"),
        ({"token": token, "site": "nowhere.example"}, "BAD_SITE"),
        ({"token": token}, "BAD_SITE"),
        ({"token": token, "site": "discord,twitter"}, "BAD_SITE"),
        ({"token": token, "site": "discord", "regex": "(unclosed"}, "BAD_REGEX"),
    ]
    for params, value in cases:
        assert call(client, "mailbox-get-email", **params) == {"status": "ERROR", "value": value}
    with clean_db.read() as session:
        # The failed purchase had drawn an address before the wallet was found short.
        assert session.scalar(select(func.count()).select_from(catalog.Address)) == 0
        assert ledger.balance(session, poor.wallet) == 100


def test_suspended_account_gets_bad_token(client, token, clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        session.execute(update(users.User).values(is_suspended=True))
    assert call(client, "mailbox-get-email", token=token, site="discord") == {
        "status": "ERROR",
        "value": "BAD_TOKEN",
    }


def test_other_users_and_unknown_ids_are_no_activation(client, token, clean_db):  # type: ignore[no-untyped-def]
    order_id, _ = order_email(client, token)
    with clean_db.transaction() as session:
        other = make_user(session)
        _, other_key = users.create_api_key(session, other)
    for path in ("mailbox-get-message", "mailbox-cancel", "mailbox-set-comment"):
        ids = ("999999", "99999999999999999999", "-1", "abc", "")
        for key, oid in ((other_key, order_id), *((token, i) for i in ids)):
            body = call(client, path, token=key, id=oid, comment="x")
            assert body == {"status": "ERROR", "value": "NO_ACTIVATION"}, (path, key, oid)


def test_expired_activation_reads_as_canceled_and_is_refunded(client, token, clean_db):  # type: ignore[no-untyped-def]
    order_id, _ = order_email(client, token)
    with clean_db.transaction() as session:
        session.execute(update(orders.Order).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert call(client, "mailbox-get-message", token=token, id=order_id) == {
        "status": "ERROR",
        "value": "ACTIVATION_CANCELED",
    }
    with clean_db.read() as session:
        order = session.get(orders.Order, int(order_id))
        assert order.status == orders.EXPIRED
        assert ledger.balance(session, ledger.wallet_code(order.user_id)) == 1000


def test_reorder_needs_the_first_letter_and_fresh_id_finds_the_latest(client, token, clean_db):  # type: ignore[no-untyped-def]
    order_id, email = order_email(client, token)
    assert call(client, "mailbox-reorder", token=token, site="discord", email=email) == {
        "status": "ERROR",
        "value": "ACTIVATION_NOT_FOUND",
    }
    for params in ({"email": "nobody@otpinbox.test"}, {}):
        assert call(client, "mailbox-reorder", token=token, **params)["value"] == "NO_ACTIVATION"
    deliver(clean_db, email)
    new = call(client, "mailbox-reorder", token=token, site="discord", email=email, password="")
    assert set(new) == {"status", "id", "mail"} and new["mail"] == email
    assert call(client, "mailbox-get-fresh-id", token=token, site="discord", email=email) == {
        "status": "OK",
        "id": new["id"],
    }
    assert call(client, "mailbox-get-fresh-id", token=token, site="nope", email=email) == {
        "status": "ERROR",
        "value": "NO_ACTIVATION",
    }
    assert call(client, "mailbox-get-fresh-id", token=token, site="discord", email="x@y.z")[
        "value"
    ] == ("NO_ACTIVATION")
    assert order_id != new["id"]


def test_comment_and_bulk_search(client, token, clean_db):  # type: ignore[no-untyped-def]
    first, email = order_email(client, token)
    second, _ = order_email(client, token)
    assert call(client, "mailbox-set-comment", token=token, id=first, comment="batch 7") == {
        "status": "OK"
    }
    assert call(client, "mailbox-set-comment", token=token, id=first, comment="")["value"] == (
        "BAD_COMMENT"
    )
    deliver(clean_db, email, code="918273")
    call(client, "mailbox-cancel", token=token, id=second)

    everything = call(client, "mailbox-get-bulk", token=token)
    assert everything["count"] == 2
    assert [(i["id"], i["status"]) for i in everything["items"]] == [
        (second, "CANCELED"),
        (first, "DONE"),
    ]
    tagged = call(client, "mailbox-get-bulk", token=token, comment="batch 7", site="discord")
    assert tagged["items"] == [
        {
            "id": first,
            "service": "discord",
            "email": email,
            "date": tagged["items"][0]["date"],
            "status": "DONE",
            "value": "918273",
            "comment": "batch 7",
        }
    ]
    assert call(client, "mailbox-get-bulk", token=token, email=email, count="1")["count"] == 1
    line = call(client, "mailbox-get-bulk", token=token, comment="batch 7", type="TEXT")
    assert line.split(":")[0] == first and line.endswith(":DONE:918273:batch 7")


def test_zones_are_public_but_check_a_given_token(client, token):  # type: ignore[no-untyped-def]
    assert call(client, "mailbox-zones", zones="1") == {
        "status": "OK",
        "zones": [{"name": "test", "cost": 1}],
    }
    assert call(client, "mailbox-zones", popular="1", site="discord.com") == {
        "status": "OK",
        "popular": [{"name": "otpinbox.test", "cost": 1.5, "count": 1_000_000}],
    }
    assert call(client, "mailbox-zones", token="bad", zones="1")["value"] == "BAD_TOKEN"
    assert call(client, "mailbox-get-domains", token=token, site="") == {
        "status": "OK",
        "count": 1,
        "domains": ["otpinbox.test"],
    }


def test_rate_limit_and_waiting_cap_answer_time_limit_exceed(settings, clean_db, token):  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(settings.replace(rate_limit="3/minute", max_waiting_orders=1), db=clean_db)
    app.config.update(TESTING=True)
    client = app.test_client()
    order_email(client, token)
    # A second waiting order breaks the cap of one (twice); the 4th call meets the limiter.
    for _ in range(2):
        assert call(client, "mailbox-get-email", token=token, site="discord") == {
            "status": "ERROR",
            "value": "TIME_LIMIT_EXCEED",
        }
    # One budget for every kopeechka endpoint of the account, still answered with HTTP 200.
    assert call(client, "user-balance", token=token)["value"] == "TIME_LIMIT_EXCEED"
    with clean_db.transaction() as session:
        _, other = users.create_api_key(session, make_user(session))
    assert call(client, "user-balance", token=other)["status"] == "OK"


def test_a_rental_is_not_an_activation(client, token, clean_db):  # type: ignore[no-untyped-def]
    with clean_db.transaction() as session:
        user = session.scalar(select(users.User).where(users.User.email == "kop@example.com"))
        rental = orders.purchase(session, user, "discord", kind=orders.RENTAL, days=1)
        rental_id, email = rental.public_id, rental.email
    for path in ("mailbox-get-message", "mailbox-cancel", "mailbox-set-comment"):
        assert call(client, path, token=token, id=rental_id, comment="x")["value"] == (
            "NO_ACTIVATION"
        )
    for path in ("mailbox-reorder", "mailbox-get-fresh-id"):
        assert call(client, path, token=token, email=email)["value"] == "NO_ACTIVATION"
    assert call(client, "mailbox-get-bulk", token=token) == {
        "status": "OK",
        "count": 0,
        "items": [],
    }


def test_a_database_outage_is_still_http_200(app, client, token, monkeypatch):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    def down(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    app.config["PROPAGATE_EXCEPTIONS"] = False  # handle errors as in production
    # The request's unit of work fails at its final commit, after the view answered.
    monkeypatch.setattr(Session, "commit", down)
    assert call(client, "user-balance", token=token) == {"status": "ERROR", "value": "SYSTEM_ERROR"}
    monkeypatch.setattr(Session, "execute", down)  # and before it: the first query
    assert call(client, "user-balance", token=token) == {"status": "ERROR", "value": "SYSTEM_ERROR"}
