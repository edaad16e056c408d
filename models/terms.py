"""Versioned terms of service and privacy policy, and who accepted which version when.

An admin publishes a new version (Markdown) of a document; from then on an account must
accept the current version of every document before it buys again
(:func:`ensure_accepted` raises :class:`TermsNotAccepted`). Acceptances keep the time
and the IP. A sub-account is covered by its reseller's acceptance too: the reseller
answers for its customers, who often only ever use an API key.

While no version has been published, the built-in terms page applies and the gate is
open (registration records the built-in acceptance in ``users.terms_accepted_at``).
"""

from __future__ import annotations

import difflib
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .audit import audit
from .base import Base, utcnow
from .errors import Conflict, InvalidInput, NotFound, TermsNotAccepted
from .users import User

TERMS, PRIVACY = "terms", "privacy"
DOCUMENTS = {TERMS: "Terms of service", PRIVACY: "Privacy policy"}
MAX_BODY = 100_000


class LegalVersion(Base):
    __tablename__ = "legal_versions"
    __table_args__ = (UniqueConstraint("document", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # Markdown; rendered without raw HTML
    summary: Mapped[str] = mapped_column(String(500), default="")  # what changed, in a line
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def title(self) -> str:
        return DOCUMENTS.get(self.document, self.document)


class LegalAcceptance(Base):
    __tablename__ = "legal_acceptances"
    __table_args__ = (UniqueConstraint("user_id", "version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("legal_versions.id"), index=True)
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")


def _document(document: str) -> str:
    if document not in DOCUMENTS:
        raise InvalidInput(f"document must be one of {', '.join(DOCUMENTS)}")
    return document


def publish(
    session: Session, admin: User, document: str, body: str, summary: str = "", *, ip: str = ""
) -> LegalVersion:
    """A new current version of ``document``; every account must accept it to buy again."""
    document = _document(document)
    body = (body or "").strip()
    if not body or len(body) > MAX_BODY:
        raise InvalidInput(f"the text is required (at most {MAX_BODY} characters)")
    latest = session.scalar(
        select(func.max(LegalVersion.version)).where(LegalVersion.document == document)
    )
    version = LegalVersion(
        document=document,
        version=(latest or 0) + 1,
        body=body,
        summary=(summary or "").strip()[:500],
        published_at=utcnow(),
        published_by=admin.id,
    )
    try:
        with session.begin_nested():
            session.add(version)
            session.flush()
    except IntegrityError:  # the unique (document, version) caught a concurrent publish
        raise Conflict("another version was published at the same time; reload") from None
    audit(
        session,
        "admin.terms.publish",
        user_id=admin.id,
        ip=ip,
        detail=f"{document} v{version.version}",
    )
    return version


def current_versions(session: Session) -> list[LegalVersion]:
    """The newest version of every published document."""
    newest = (
        select(LegalVersion.document, func.max(LegalVersion.version).label("version"))
        .group_by(LegalVersion.document)
        .subquery()
    )
    return list(
        session.scalars(
            select(LegalVersion)
            .join(
                newest,
                (newest.c.document == LegalVersion.document)
                & (newest.c.version == LegalVersion.version),
            )
            .order_by(LegalVersion.document)
        )
    )


def current(session: Session, document: str) -> LegalVersion | None:
    return session.scalar(
        select(LegalVersion)
        .where(LegalVersion.document == _document(document))
        .order_by(LegalVersion.version.desc())
        .limit(1)
    )


def get_version(session: Session, document: str, version: int) -> LegalVersion:
    found = session.scalar(
        select(LegalVersion).where(
            LegalVersion.document == _document(document), LegalVersion.version == version
        )
    )
    if found is None:
        raise NotFound("no such version")
    return found


def versions(session: Session, document: str) -> list[LegalVersion]:
    return list(
        session.scalars(
            select(LegalVersion)
            .where(LegalVersion.document == _document(document))
            .order_by(LegalVersion.version.desc())
        )
    )


def _covering_ids(session: Session, user: User) -> list[int]:
    """The accounts whose acceptance covers ``user``: itself and its reseller, if any."""
    from .resellers import reseller_of  # resellers imports orders, which imports us

    parent = reseller_of(session, user.id)
    return [user.id] if parent is None else [user.id, parent]


def pending(session: Session, user: User) -> list[LegalVersion]:
    """Current versions that ``user`` (or its reseller) has not accepted yet."""
    latest = current_versions(session)
    if not latest:
        return []
    accepted = set(
        session.scalars(
            select(LegalAcceptance.version_id).where(
                LegalAcceptance.user_id.in_(_covering_ids(session, user)),
                LegalAcceptance.version_id.in_([v.id for v in latest]),
            )
        )
    )
    return [v for v in latest if v.id not in accepted]


def ensure_accepted(session: Session, user: User) -> None:
    """The purchase gate: raise :class:`TermsNotAccepted` while a current version is open."""
    missing = pending(session, user)
    if missing:
        names = ", ".join(f"{v.title} v{v.version}" for v in missing)
        raise TermsNotAccepted(f"accept the current {names} before buying")


def accept(
    session: Session, user: User, version_ids: list[int], *, ip: str = ""
) -> list[LegalAcceptance]:
    """Record that ``user`` accepted exactly the versions it was shown.

    Each id must be a current version: a version published while the customer was
    reading is not accepted behind their back (:class:`Conflict`, show the page again).
    Accepting twice is harmless.
    """
    latest = {v.id: v for v in current_versions(session)}
    if any(vid not in latest for vid in version_ids):
        raise Conflict("a newer version was published meanwhile; read it and accept again")
    made = []
    now = utcnow()
    for vid in version_ids:
        row = LegalAcceptance(user_id=user.id, version_id=vid, accepted_at=now, ip=ip[:64])
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # already accepted (maybe in a concurrent request)
            continue
        made.append(row)
        version = latest[vid]
        audit(
            session,
            "terms.accept",
            user_id=user.id,
            ip=ip,
            detail=f"{version.document} v{version.version}",
        )
    return made


def accept_all_current(session: Session, user: User, *, ip: str = "") -> list[LegalAcceptance]:
    """At registration: the form's "I accept the terms" covers the versions on display."""
    return accept(session, user, [v.id for v in pending(session, user)], ip=ip)


def acceptances(session: Session, user: User) -> list[tuple[LegalAcceptance, LegalVersion]]:
    rows = session.execute(
        select(LegalAcceptance, LegalVersion)
        .join(LegalVersion, LegalVersion.id == LegalAcceptance.version_id)
        .where(LegalAcceptance.user_id == user.id)
        .order_by(LegalAcceptance.id)
    )
    return [(a, v) for a, v in rows]


def last_accepted(session: Session, user: User, document: str) -> LegalVersion | None:
    """The newest version of ``document`` this account accepted (for showing the diff)."""
    return session.scalar(
        select(LegalVersion)
        .join(LegalAcceptance, LegalAcceptance.version_id == LegalVersion.id)
        .where(LegalAcceptance.user_id == user.id, LegalVersion.document == document)
        .order_by(LegalVersion.version.desc())
        .limit(1)
    )


def diff_lines(old: LegalVersion | None, new: LegalVersion) -> list[str]:
    """A unified diff of the Markdown source (empty when there is nothing to compare)."""
    if old is None or old.id == new.id:
        return []
    return list(
        difflib.unified_diff(
            old.body.splitlines(),
            new.body.splitlines(),
            fromfile=f"v{old.version}",
            tofile=f"v{new.version}",
            lineterm="",
        )
    )
