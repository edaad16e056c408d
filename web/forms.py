"""Flask-WTF forms (CSRF on every one of them)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional


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
