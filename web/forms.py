"""Flask-WTF forms (CSRF on every one of them)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)


class RegisterForm(FlaskForm):
    email = StringField("E-mail", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=256)])
    confirm = PasswordField("Repeat password", validators=[EqualTo("password", "Passwords differ")])
    age = BooleanField("I am 18 or older", validators=[DataRequired("You must be 18 or older")])
    terms = BooleanField("I accept the terms", validators=[DataRequired("Accept the terms")])


class LoginForm(FlaskForm):
    email = StringField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class BuyForm(FlaskForm):
    service = SelectField("Service", validators=[DataRequired()])
    domain = SelectField("Domain", validators=[Optional()])
    kind = SelectField(
        "Kind", choices=[SelectChoice("activation", "Activation"), SelectChoice("rental", "Rental")]
    )
    days = IntegerField("Days (rental)", validators=[Optional(), NumberRange(1, 365)])


class ActionForm(FlaskForm):
    """A button that posts: CSRF token only."""


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=100)])


class PasswordForm(FlaskForm):
    old = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired(), Length(min=8, max=256)])


class DepositForm(FlaskForm):
    amount = IntegerField("Amount (minor units)", validators=[DataRequired(), NumberRange(1)])
    reference = StringField("Transfer reference", validators=[DataRequired(), Length(max=128)])


class WithdrawalForm(FlaskForm):
    amount = IntegerField("Amount (minor units)", validators=[DataRequired(), NumberRange(1)])
    destination = StringField(
        "Pay to (IBAN, wallet address)", validators=[DataRequired(), Length(max=255)]
    )
    confirm = HiddenField(default="")


class DisputeForm(FlaskForm):
    reason = TextAreaField("What went wrong", validators=[DataRequired(), Length(max=4000)])
    evidence = TextAreaField(
        "Evidence (what the site answered, when)", validators=[Optional(), Length(max=4000)]
    )


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class AdjustForm(FlaskForm):
    amount = IntegerField("Amount (+ credit, − debit)", validators=[DataRequired()])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class RefundForm(FlaskForm):
    amount = IntegerField("Refund (blank: full price)", validators=[Optional(), NumberRange(1)])
    reason = StringField("Note", validators=[Optional(), Length(max=500)])


class ServiceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    price = IntegerField("Price", validators=[InputRequired(), NumberRange(0)])
    window_minutes = IntegerField("Window (min)", validators=[DataRequired(), NumberRange(1, 1440)])
    rental_day_price = IntegerField("Rental / day", validators=[Optional(), NumberRange(0)])
    active = BooleanField("Active", default=True)


class DomainForm(FlaskForm):
    name = StringField("Domain", validators=[DataRequired(), Length(max=253)])


class WebhookForm(FlaskForm):
    url = StringField("HTTPS URL", validators=[DataRequired(), Length(max=2000)])
