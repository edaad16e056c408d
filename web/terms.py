"""Versioned terms and privacy policy: read them, see what changed, accept them.

The purchase gate itself is :func:`models.terms.ensure_accepted`; pages that catch
:class:`TermsNotAccepted` send the customer to :func:`accept`, which shows the new text
and, for documents accepted before, the diff of the Markdown source.
"""

from __future__ import annotations

import nh3
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markdown_it import MarkdownIt
from markupsafe import Markup

from models import terms
from models.errors import DomainError, NotFound

from . import dbsession
from .auth import _safe_next, client_ip
from .forms import ActionForm
from .refusal import refuse

bp = Blueprint("terms", __name__)
# CommonMark without raw HTML (html=False): admins write Markdown, never markup; nh3 then
# removes anything unexpected that a link or image syntax could smuggle in.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(text: str) -> Markup:
    html = _markdown.render(text or "")
    return Markup(nh3.clean(html, url_schemes={"http", "https", "mailto"}))


@bp.get("/legal/<document>")
def document(document: str):  # type: ignore[no-untyped-def]
    """The current version of a document (or an older one with ?version=N)."""
    session = dbsession.session()
    try:
        wanted = request.args.get("version", type=int)
        version = (
            terms.get_version(session, document, wanted)
            if wanted
            else terms.current(session, document)
        )
    except (NotFound, DomainError):
        abort(404)
    if version is None:  # nothing published yet: the built-in page
        return redirect(url_for("account.terms"))
    return render_template(
        "terms/document.html",
        version=version,
        html=render_markdown(version.body),
        history=terms.versions(session, document),
    )


@bp.route("/legal/accept", methods=["GET", "POST"])
@login_required
def accept():  # type: ignore[no-untyped-def]
    session = dbsession.session()
    form = ActionForm()
    if form.validate_on_submit():
        ids = [int(v) for v in request.form.getlist("version") if v.isdigit()]
        try:
            terms.accept(session, current_user, ids, ip=client_ip())
        except DomainError as exc:
            refuse(exc)
            return redirect(url_for("terms.accept", next=request.args.get("next")), 303)
        flash("Thank you: the current terms are accepted.", "success")
        return redirect(_safe_next(request.args.get("next")), 303)
    pending = terms.pending(session, current_user)
    shown = [
        {
            "version": v,
            "html": render_markdown(v.body),
            "diff": terms.diff_lines(terms.last_accepted(session, current_user, v.document), v),
        }
        for v in pending
    ]
    return render_template(
        "terms/accept.html",
        pending=shown,
        form=form,
        accepted=terms.acceptances(session, current_user),
    )


def send_to_accept(exc: DomainError, back: str):  # type: ignore[no-untyped-def]
    """A purchase refused by the terms gate: roll back, explain, show the new terms."""
    refuse(exc)
    return redirect(url_for("terms.accept", next=back), 303)
