"""Forms (Flask-WTF: CSRF on every one). Services do the real validation; forms parse."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    FloatField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from agora.i18n import translate
from agora.models.consultation import STAGES, STATUSES
from agora.models.user import CONSTITUENCIES, GENDERS, ROLES
from agora.services import geography


class RegisterForm(FlaskForm):
    display_name = StringField(_l("Name shown with your views"), validators=[DataRequired(), Length(max=80)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField(
        _l("Password (at least 10 characters)"), validators=[DataRequired(), Length(min=10, max=200)]
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )
    # The optional profile, offered at once (it can be filled or changed later in the profile).
    constituency = SelectField(_l("Constituency"), validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    gender = SelectField(_l("Gender"), validators=[Optional()])
    next = HiddenField()  # the page that sent the person here (checked by redirects.safe_next)
    submit = SubmitField(_l("Create my account"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _profile_choices(self)


def _profile_choices(form) -> None:
    form.constituency.choices = _blank(_l("Not stated")) + [(k, translate(v)) for k, v in CONSTITUENCIES.items()]
    from flask_babel import get_locale

    form.country.choices = _blank(_l("Not stated")) + geography.choices(str(get_locale() or "en"))
    form.gender.choices = _blank(_l("Not stated")) + [(k, translate(v)) for k, v in GENDERS.items()]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (WTForms' documented recipe): every choice visible, no Ctrl-click."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# Languages offered by name in the profile: the six UN languages and the most widely read others;
# a code stored earlier that is not here stays offered, so nothing is lost.
READ_LANGUAGES = (
    "ar",
    "zh",
    "en",
    "fr",
    "ru",
    "es",
    "pt",
    "de",
    "hi",
    "bn",
    "ur",
    "id",
    "sw",
    "ha",
    "am",
    "yo",
    "tr",
    "fa",
    "ja",
    "ko",
    "vi",
    "th",
    "it",
    "pl",
    "uk",
    "nl",
)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


def _blank(label):
    return [("", label)]


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Name shown with your views"), validators=[DataRequired(), Length(max=80)])
    constituency = SelectField(_l("Constituency"), validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    gender = SelectField(_l("Gender"), validators=[Optional()])
    languages = MultiCheckboxField(_l("Languages you read"), validators=[Optional()])
    locale = SelectField(_l("Interface language"), validators=[Optional()])
    show_constituency = BooleanField(_l("Show my constituency with my views (otherwise it is only counted in totals)"))
    submit = SubmitField(_l("Save my profile"))

    def __init__(self, *args, languages=(), language_names=None, **kwargs):
        super().__init__(*args, **kwargs)
        _profile_choices(self)
        from agora.web.helpers import language_name

        obj = kwargs.get("obj")
        if not self.is_submitted() and isinstance(getattr(obj, "languages", None), str):
            self.languages.data = [c for c in obj.languages.split(",") if c]  # stored as "en,sw"
        elif not self.is_submitted():
            self.languages.data = []
        stored = [c for c in (self.languages.data or []) if c not in READ_LANGUAGES]
        self.languages.choices = sorted(
            ((code, language_name(code)) for code in (*READ_LANGUAGES, *stored)), key=lambda c: c[1].casefold()
        )
        self.locale.choices = _blank(_l("From my browser")) + [
            (code, (language_names or {}).get(code, code)) for code in languages
        ]


class CodeForm(FlaskForm):
    code = StringField(
        _l("6-digit code from your authenticator app"), validators=[DataRequired(), Length(min=6, max=8)]
    )
    submit = SubmitField(_l("Confirm"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(
        _l("New password (at least 10 characters)"), validators=[DataRequired(), Length(min=10, max=200)]
    )
    submit = SubmitField(_l("Change password"))


class DeleteForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])
    confirm = BooleanField(_l("I understand: my account is deleted; my views stay without my name"))
    submit = SubmitField(_l("Delete my account"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=80)])
    submit = SubmitField(_l("Create token"))


class SubmissionForm(FlaskForm):
    text = TextAreaField(
        _l("Your view"), validators=[DataRequired(message=_l("Please write something before sending."))]
    )
    submit = SubmitField(_l("Submit my view"))


class VoteForm(FlaskForm):
    """Only the CSRF token; the vote value is the button pressed."""


class ConsultationForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = StringField(_l("One-line summary"), validators=[Optional(), Length(max=500)])
    briefing_html = TextAreaField(
        _l("Briefing (basic HTML allowed: paragraphs, lists, links, headings)"), validators=[Optional()]
    )
    stage = SelectField(_l("Life-cycle stage"), choices=list(STAGES.items()))
    status = SelectField(_l("Status"), choices=[(s, s) for s in STATUSES])
    forum = StringField(_l("Intergovernmental forum it reports to"), validators=[Optional(), Length(max=200)])
    languages = StringField(_l("Languages (codes)"), validators=[Optional(), Length(max=80)], default="en")
    opens_at = DateTimeLocalField(_l("Opens (UTC)"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    closes_at = DateTimeLocalField(_l("Closes (UTC)"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    hold_threshold = FloatField(
        _l("Hold for review above this abuse probability (empty: the model's default)"),
        validators=[Optional(), NumberRange(min=0.01, max=0.99)],
    )
    reject_threshold = FloatField(
        _l("Mark as a likely violation above (empty: the model's default)"),
        validators=[Optional(), NumberRange(min=0.01, max=0.99)],
    )
    submit = SubmitField(_l("Save consultation"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage.choices = [(k, translate(v)) for k, v in STAGES.items()]


class RoleForm(FlaskForm):
    email = EmailField(_l("Email of the user"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=[(r, r) for r in ROLES])
    consultation_id = SelectField(_l("Scope"), validators=[Optional()])
    submit = SubmitField(_l("Assign role"))


class TranslationForm(FlaskForm):
    """A consultation's title, summary and briefing in another language (the secretariat's)."""

    language = SelectField(_l("Language"))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = StringField(_l("One-line summary"), validators=[Optional(), Length(max=500)])
    briefing_html = TextAreaField(
        _l("Briefing (basic HTML allowed: paragraphs, lists, links, headings)"), validators=[Optional()]
    )
    submit = SubmitField(_l("Save translation"))
