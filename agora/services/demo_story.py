"""The demo's SDG 6 story, start to end: views in the six UN languages from people who declared a
profile (so balance and breakdowns have something to show), a past hearing with its transcript,
speakers' record and themes, and the next hearing on the calendar. Written for the demo."""

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from agora.extensions import db
from agora.models import Consultation, Hearing, SpeakerRequest, Submission, User
from agora.models._base import utcnow
from agora.services.accounts import accounts
from agora.services.participation import submissions

PASSWORD = "agora-demo-participant"
WATER_TITLE_START = "Review of progress: access to safe"

# (text, language, constituency, country, gender): four views in each of the six UN languages.
VIEWS = [
    ("Every school should have clean water and separate toilets before 2030.", "en", "youth", "KE", "woman"),
    ("Public water utilities need long-term finance, not short loans.", "en", "local_authority", "NG", "man"),
    ("Publish the water quality tests of every town, every month.", "en", "academia", "IN", "woman"),
    ("Farmers need support to pump less groundwater.", "en", "private_sector", "US", "undisclosed"),
    (
        "Chaque école doit avoir de l'eau potable et des toilettes séparées avant 2030.",
        "fr",
        "womens_organisation",
        "SN",
        "woman",
    ),
    (
        "Les réseaux d'eau publics ont besoin de financements à long terme, pas de prêts courts.",
        "fr",
        "trade_union",
        "FR",
        "man",
    ),
    (
        "Les analyses de la qualité de l'eau de chaque ville doivent être publiées tous les mois.",
        "fr",
        "ngo",
        "CI",
        "another",
    ),
    (
        "Les agriculteurs ont besoin d'aide pour moins puiser dans les nappes phréatiques.",
        "fr",
        "individual",
        "CA",
        "man",
    ),
    (
        "Cada escuela debe tener agua potable y baños separados antes de 2030.",
        "es",
        "indigenous_peoples",
        "PE",
        "woman",
    ),
    (
        "Los servicios públicos de agua necesitan financiación a largo plazo, no préstamos cortos.",
        "es",
        "parliamentarian",
        "MX",
        "man",
    ),
    ("Hay que publicar cada mes los análisis de calidad del agua de cada ciudad.", "es", "ngo", "BO", "woman"),
    ("Los agricultores necesitan apoyo para extraer menos agua subterránea.", "es", "academia", "ES", "undisclosed"),
    ("يجب أن تتوفر في كل مدرسة مياه نظيفة ومراحيض منفصلة قبل عام 2030.", "ar", "youth", "EG", "man"),
    ("تحتاج مرافق المياه العامة إلى تمويل طويل الأجل لا إلى قروض قصيرة.", "ar", "local_authority", "JO", "woman"),
    ("يجب نشر نتائج فحص جودة المياه لكل مدينة كل شهر.", "ar", "womens_organisation", "MA", "woman"),
    ("يحتاج المزارعون إلى دعم لتقليل ضخ المياه الجوفية.", "ar", "private_sector", "LB", "man"),
    ("每所学校都应在2030年前拥有清洁饮用水和男女分开的厕所。", "zh", "academia", "CN", "woman"),
    ("公共供水企业需要长期融资，而不是短期贷款。", "zh", "parliamentarian", "CN", "man"),
    ("每个城镇的水质检测结果应每月公开。", "zh", "ngo", "SG", "another"),
    ("农民需要支持，以减少抽取地下水。", "zh", "individual", "CN", "man"),
    ("В каждой школе к 2030 году должны быть чистая вода и раздельные туалеты.", "ru", "trade_union", "RU", "woman"),
    (
        "Государственным водоканалам нужно долгосрочное финансирование, а не короткие кредиты.",
        "ru",
        "local_authority",
        "KZ",
        "man",
    ),
    ("Результаты проверки качества воды в каждом городе нужно публиковать ежемесячно.", "ru", "youth", "KG", "woman"),
    (
        "Фермерам нужна помощь, чтобы меньше выкачивать подземные воды.",
        "ru",
        "womens_organisation",
        "BY",
        "undisclosed",
    ),
]
# Each view's concern (schools, finance, data, farming): people lean by their own concern, so the
# opinion groups and the agree/disagree tallies have a shape.
CONCERN = [i % 4 for i in range(len(VIEWS))]

# The opening session, two weeks ago: (author's view index, message), then who took the floor.
PAST_MESSAGES = [
    (0, "Our baseline survey found one school in three without a working toilet."),
    (4, "Dans notre région, la moitié des points d'eau sont en panne depuis plus d'un an."),
    (8, "En las comunidades indígenas no hay datos oficiales sobre el acceso al agua."),
    (12, "لا توجد بيانات موثوقة عن جودة المياه في القرى."),
    (16, "很多农村地区的水质数据从未公开过。"),
    (20, "Сельские школы чаще всего остаются без чистой воды."),
    (1, "Utilities cannot repair networks when tariffs do not cover the costs."),
    (5, "Sans financement stable, les régies de l'eau ne peuvent pas entretenir les réseaux."),
    (9, "Los municipios no pueden mantener las redes de agua sin fondos estables."),
    (13, "المرافق البلدية عاجزة عن صيانة الشبكات دون تمويل ثابت."),
    (17, "没有稳定的资金，供水管网就无法得到维护。"),
    (21, "Без стабильного финансирования водопроводные сети разрушаются."),
]
PAST_SPEAKERS = [  # (view index of the speaker, topic, minutes at the microphone)
    (0, "Toilets in rural schools", 3),
    (13, "تمويل المرافق البلدية", 4),
    (6, "Données ouvertes sur la qualité de l'eau", 2),
    (17, "农村供水的资金", 3),
]
PAST_SUMMARY = (
    "We heard two concerns in every language: schools and villages without working water points, "
    "and utilities without the stable finance to maintain their networks. Both return at the review."
)


def _water() -> Consultation | None:
    return db.session.scalar(select(Consultation).where(Consultation.title.like(WATER_TITLE_START + "%")))


def _people() -> list[User]:
    """The story's participants, each with a declared profile (created once)."""
    people, shared_hash = [], None
    for i, (_text, language, constituency, country, gender) in enumerate(VIEWS, start=1):
        email = f"sdg6-participant-{i}@agora.example"
        person = db.session.scalar(select(User).where(User.email == email))
        if person is None and shared_hash is None:
            person = accounts.register(email, PASSWORD, f"SDG 6 participant {i}")
        elif person is None:
            # demo accounts share one password: hashed once (scrypt costs ~0.3 s a time, 8 s for all)
            person = User(
                email=email,
                password_hash=shared_hash,
                display_name=f"SDG 6 participant {i}",
                password_changed_at=utcnow(),
            )
            db.session.add(person)
            db.session.commit()
        shared_hash = shared_hash or person.password_hash
        if person.constituency is None:
            accounts.update_profile(
                person,
                accounts.Profile(
                    display_name=person.display_name,
                    constituency=constituency,
                    country=country,
                    gender=gender,
                    languages=language if language == "en" else f"{language},en",
                    locale=language,
                    show_constituency=True,
                ),
            )
        people.append(person)
    return people


def views_with_profiles(water: Consultation, progress: Callable[[str], None]) -> list[User]:
    """Twenty-four views in six languages and the votes of their authors on each other's views."""
    people = _people()
    if db.session.scalar(
        select(Submission.id).where(Submission.consultation_id == water.id, Submission.hearing_id.is_(None))
    ):
        return people
    views = [
        submissions.submit(water.id, person, text, channel="web", idempotency_key=f"demo-sdg6-{i}")[0]
        for i, (person, (text, *_)) in enumerate(zip(people, VIEWS, strict=True))
    ]
    votes = 0
    for i, person in enumerate(people):
        for j, view in enumerate(views):
            if i == j or view.state != "published" or (i + j) % 2 == 0:
                continue  # nobody votes on everything
            if (i + j) % 7 == 0:
                choice = "pass"
            else:  # people agree with their own concern and split on the others
                choice = "agree" if CONCERN[i] == CONCERN[j] or (i + j) % 4 == 1 else "disagree"
            submissions.vote(view.id, person, choice, consultation_id=water.id)
            votes += 1
    progress(f"'{water.title}': {len(views)} views in six languages from participants with profiles, {votes} votes.")
    return people


def past_hearing(
    water: Consultation, chair: User, people: list[User], progress: Callable[[str], None]
) -> Hearing | None:
    """The opening session, held two weeks ago: messages, four speakers, a chair's summary, themes."""
    from agora.services import hearings
    from agora.services.analysis import themes

    if db.session.scalar(select(Hearing.id).where(Hearing.consultation_id == water.id, Hearing.state == "ended")):
        return None
    start = (utcnow() - timedelta(days=14)).replace(hour=9, minute=0, second=0, microsecond=0)
    hearing = hearings.create(water.id, "Opening session: where SDG 6 stands", start)
    hearings.appoint_chair(hearing, chair, None)
    hearings.open_hearing(hearing, chair)
    posted = [
        hearings.post_message(hearing, people[who], text, client_id=f"demo-past-{n}")
        for n, (who, text) in enumerate(PAST_MESSAGES)
    ]
    turns = []
    for who, topic, _minutes in PAST_SPEAKERS:
        person = people[who]
        request = hearings.request_floor(hearing, person, person.constituency, topic)
        hearings.grant_floor(hearing, chair, request.id)
        hearings.end_turn(hearing, chair)
        turns.append(request.id)
    summary = hearings.post_chair_summary(hearing, chair, PAST_SUMMARY)
    hearings.close_hearing(hearing, chair)
    # The session happened two weeks ago: its clock is moved there, a message every four minutes.
    hearing.started_at = start
    for n, message in enumerate(posted + [summary]):
        message.created_at = start + timedelta(minutes=4 * n + 2)
    at = start + timedelta(minutes=10)
    for request_id, (_who, _topic, minutes) in zip(turns, PAST_SPEAKERS, strict=True):
        request = db.session.get_one(SpeakerRequest, request_id)
        request.requested_at, request.started_at = at - timedelta(minutes=5), at
        request.ended_at = at + timedelta(minutes=minutes, seconds=20)
        at = request.ended_at + timedelta(minutes=6)
    hearing.ended_at = start + timedelta(minutes=4 * len(posted) + 10)
    db.session.commit()
    themes.refit(water.id, hearing.id)
    progress(
        f"Past hearing '{hearing.title}' (/hearings/{hearing.id}/transcript): {len(posted)} messages in six "
        f"languages, {len(turns)} speakers, the chair's summary and its themes."
    )
    return hearing


def upcoming_hearing(water: Consultation, progress: Callable[[str], None]) -> Hearing | None:
    """The next session, on the calendar in ten days at 13:00 UTC."""
    from agora.services import hearings

    if db.session.scalar(select(Hearing.id).where(Hearing.consultation_id == water.id, Hearing.state == "scheduled")):
        return None
    when = (utcnow() + timedelta(days=10)).replace(hour=13, minute=0, second=0, microsecond=0)
    hearing = hearings.create(water.id, "Regional session: Africa and the Arab States", when)
    progress(f"Upcoming hearing '{hearing.title}' scheduled for {when:%Y-%m-%d %H:%M} UTC.")
    return hearing


def tell(chair: User | None, progress: Callable[[str], None]) -> None:
    """The whole SDG 6 story (each part added once: loading again adds nothing, and a demo loaded
    before the story gets what it lacks)."""
    water = _water()
    if water is None or chair is None:
        return
    from agora.services.analysis import opinions, themes  # a command, not the event loop: compute them here

    had_views = db.session.scalar(
        select(Submission.id).where(Submission.consultation_id == water.id, Submission.hearing_id.is_(None))
    )
    people = views_with_profiles(water, progress)
    past_hearing(water, chair, people, progress)
    upcoming_hearing(water, progress)
    if not had_views:  # themes and opinion groups of the new views (a demo loaded again adds none)
        themes.refit(water.id, progress=progress)
        opinions.refit(water.id, progress=progress)
