"""Register, log in, log out."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from models import abuse_detection, resellers, terms, users
from models.audit import audit
from models.errors import AuthenticationFailed, DomainError

from . import dbsession
from .extensions import login_manager
from .forms import LoginForm, RegisterForm
from .login_throttle import throttle

bp = Blueprint("auth", __name__)
TOO_MANY = "Too many failed attempts. Wait a minute, then try again."


@login_manager.user_loader
def load_user(user_id: str) -> users.User | None:
    try:
        user = dbsession.session().get(users.User, int(user_id))
    except ValueError:
        return None
    return user


def client_ip() -> str:
    return request.remote_addr or ""


# A path on this site: one leading slash, then no slash or backslash, and nowhere a
# backslash, space or control character (browsers drop tabs and newlines, so "/\t/evil"
# would become "//evil"). research/reliability.md W8.
_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\x00-\x20\\\x7f]*$")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: no scheme, no host, no backslash tricks."""
    if not target or not _SAFE_NEXT.match(target) or urlsplit(target).netloc:
        return url_for("orders.index")
    return target


def _business_records(user: users.User, *, registration: bool) -> None:
    """Abuse signals (IP, browser fingerprint) and, at registration, the acceptance of the
    published terms versions the form showed (with time and IP)."""
    session = dbsession.session()
    fingerprint = abuse_detection.browser_fingerprint(
        request.headers.get("User-Agent", ""), request.headers.get("Accept-Language", "")
    )
    abuse_detection.record_login(
        session, user.id, ip=client_ip(), fingerprint=fingerprint, registration=registration
    )
    if registration:
        terms.accept_all_current(session, user, ip=client_ip())


@bp.route("/register", methods=["GET", "POST"])
def register():  # type: ignore[no-untyped-def]
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(
                dbsession.session(),
                form.email.data or "",
                form.password.data or "",
                terms_accepted=True,
                age_confirmed=True,
            )
        except DomainError as exc:
            form.email.errors = [*form.email.errors, exc.message]
        else:
            audit(dbsession.session(), "register", user_id=user.id, ip=client_ip())
            _business_records(user, registration=True)
            login_user(user)
            flash("Welcome! Top up your wallet, then buy an address.")
            return redirect(url_for("orders.index"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("orders.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        session = dbsession.session()
        email, ip = form.email.data or "", client_ip()
        wait = throttle().blocked(ip, email)
        if wait:
            page = render_template("auth/login.html", form=form, error=TOO_MANY)
            return page, 429, {"Retry-After": str(wait)}
        try:
            user = users.authenticate(session, email, form.password.data or "")
        except AuthenticationFailed:
            throttle().failed(ip, email)
            error = "Wrong e-mail or password."
        else:
            if resellers.effectively_suspended(session, user):
                error = "This account is suspended."
            else:
                audit(session, "login", user_id=user.id, ip=client_ip())
                _business_records(user, registration=False)
                login_user(user)
                return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, error=error)


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    return redirect(url_for("auth.login"))
