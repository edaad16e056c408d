"""Support tickets over the web: owner and admins only, nosniff downloads, admin queue, audit."""

from __future__ import annotations

import io

from sqlalchemy import select

from models import tickets, users
from models.audit import AuditEvent
from tests.web.webutil import login, make_account, seed_catalog


def _open(client, **extra):  # type: ignore[no-untyped-def]
    data = {"subject": "Help", "body": "It broke", "topic": "general", **extra}
    return client.post("/support", data=data, content_type="multipart/form-data")


def test_ticket_access_is_scoped_to_owner_and_admins(app, clean_db):
    seed_catalog(clean_db)
    owner, other, admin = (
        make_account(clean_db),
        make_account(clean_db),
        make_account(clean_db, admin=True),
    )
    c_owner, c_other, c_admin = app.test_client(), app.test_client(), app.test_client()
    login(c_owner, owner), login(c_other, other), login(c_admin, admin)

    r = _open(c_owner, attachment=(io.BytesIO(b"<html><script>x</script>"), "evil.html"))
    assert r.status_code == 303
    ticket_path = r.headers["Location"]
    ticket_id = int(ticket_path.rsplit("/", 1)[1])
    with clean_db.read() as s:
        (att_id,) = s.scalars(select(tickets.TicketAttachment.id)).all()

    assert c_other.get(ticket_path).status_code == 404
    assert c_other.post(f"{ticket_path}/reply", data={"body": "hi"}).status_code == 404
    assert c_other.get(f"/support/attachments/{att_id}").status_code == 404
    assert c_other.get(f"/admin/tickets/{ticket_id}").status_code == 404  # not an admin

    download = c_owner.get(f"/support/attachments/{att_id}")
    assert download.status_code == 200
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")

    assert c_admin.get(f"/admin/tickets/{ticket_id}").status_code == 200
    assert (
        c_admin.post(f"/admin/tickets/{ticket_id}/reply", data={"body": "Fixed"}).status_code == 303
    )
    assert b"support-unread" in c_owner.get("/orders").data  # in-app notification
    c_owner.get(ticket_path)  # reading clears it
    assert b"support-unread" not in c_owner.get("/orders").data
    assert (
        c_admin.post(f"/admin/tickets/{ticket_id}/status", data={"status": "resolved"}).status_code
        == 303
    )
    with clean_db.read() as s:
        actions = {e.action for e in s.query(AuditEvent).filter_by(user_id=admin.id)}
        assert {"admin.ticket.reply", "admin.ticket.resolved"} <= actions


def test_admin_queue_filters_and_links_the_deposit(app, clean_db):
    seed_catalog(clean_db)
    owner, admin = make_account(clean_db), make_account(clean_db, admin=True)
    c_owner, c_admin = app.test_client(), app.test_client()
    login(c_owner, owner), login(c_admin, admin)
    c_owner.post("/wallet/deposits", data={"amount": 500, "reference": "bank 1"})
    with clean_db.read() as s:
        from models.payments import Deposit

        deposit_id = s.scalar(select(Deposit.id).where(Deposit.user_id == owner.id))
    r = _open(c_owner, topic="deposit", ref=str(deposit_id), subject="Not credited")
    assert r.status_code == 303, r.headers
    _open(c_owner, subject="Unrelated question")

    deposits = c_admin.get("/admin/tickets?status=open&topic=deposit").get_data(as_text=True)
    assert "Not credited" in deposits and "Unrelated question" not in deposits
    assert f"deposit #{deposit_id}" in deposits
    everything = c_admin.get(f"/admin/tickets?status=&email={owner.email}").get_data(as_text=True)
    assert "Unrelated question" in everything


def test_the_customer_cannot_report_someone_elses_deposit(app, clean_db):
    seed_catalog(clean_db)
    owner, other = make_account(clean_db), make_account(clean_db)
    with clean_db.transaction() as s:
        from models import payments

        dep = payments.request_deposit(s, s.get(users.User, other.id), 500, "x", minimum=100)
        dep_id = dep.id
    client = app.test_client()
    login(client, owner)
    r = _open(client, topic="deposit", ref=str(dep_id))
    assert r.status_code == 303 and "/support?" in r.headers["Location"]
    with clean_db.read() as s:
        assert s.query(tickets.Ticket).count() == 0
