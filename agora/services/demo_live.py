"""Plays a live hearing for the demo: simulated participants post messages, vote and ask for the
floor in the six UN languages at a human pace, so a chair watching the console sees the thread,
the queue and the live summary fill in.

Two ways to act, one script:
- ``SocketStage``: real Socket.IO clients signed in to a running server (what a browser does), so
  everything happens in the server and every page connected to it sees it at once;
- ``ServiceStage``: the same service calls the socket handlers make, in this process; their
  realtime emits reach browsers through the message queue when AGORA_REDIS_URL is set.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # imported where used: the player may run without the app's models loaded
    import socketio

    from agora.models import Hearing, User

_R = TypeVar("_R")

NAMESPACE = "/hearing"
PASSWORD = "agora-demo-chair"  # the demo's hearing participants share the chair's demo password

# New lines for the SDG 6 hearing, six per language: (language, message, topic when asking the floor).
SCRIPT = [
    ("en", "Rainwater harvesting on school roofs is cheap and works in dry months too.", "Rainwater in schools"),
    ("fr", "Les petites villes ont besoin de techniciens formés pour réparer les pompes.", "Techniciens locaux"),
    ("es", "Las mujeres deben tener voz en los comités de agua de cada comunidad.", "Comités de agua"),
    ("ar", "نحتاج إلى خطط لإعادة استخدام المياه المعالجة في الزراعة.", "إعادة استخدام المياه"),
    ("zh", "城市的管网漏损率太高，应该优先修复。", "管网漏损"),
    ("ru", "Нужны открытые данные о том, сколько воды теряется в сетях.", "Потери воды"),
    ("en", "Sanitation targets mean nothing without money for emptying latrines.", "Faecal sludge"),
    ("fr", "Les camps de réfugiés doivent être comptés dans les statistiques sur l'eau.", "Réfugiés"),
    ("es", "Los glaciares se derriten: las ciudades andinas necesitan planes de agua ya.", "Glaciares"),
    ("ar", "يجب أن تكون المدارس أول من يحصل على محطات تحلية صغيرة.", "تحلية المياه"),
    ("zh", "农村学校需要专门的资金来维护洗手设施。", "洗手设施"),
    ("ru", "Сельские общины должны сами выбирать, какие колодцы ремонтировать первыми.", "Колодцы"),
    ("en", "Health clinics without running water cannot keep infections down.", "Water in clinics"),
    ("fr", "Le prix de l'eau en bouteille ruine les familles des quartiers informels.", "Quartiers informels"),
    ("es", "Las empresas mineras deben pagar por el agua que contaminan.", "Minería"),
    ("ar", "ندعو إلى نشر بيانات الجفاف لكل منطقة بشكل شهري.", "بيانات الجفاف"),
    ("zh", "应该让青年参与水资源管理的决策。", "青年参与"),
    ("ru", "Школам нужны фильтры для воды, а не только новые трубы.", "Фильтры"),
    ("en", "Please count people with disabilities when you count access to toilets.", "Accessible toilets"),
    ("fr", "Les coupures d'eau pendant les canicules touchent d'abord les plus pauvres.", "Canicules"),
    ("es", "Hay que proteger las fuentes de agua de los pueblos indígenas por ley.", "Fuentes indígenas"),
    ("ar", "المياه الجوفية تُستنزف بسرعة ويجب تنظيم حفر الآبار.", "حفر الآبار"),
    ("zh", "洪水过后，饮用水的安全检测必须及时进行。", "洪水后的水质"),
    ("ru", "Тарифы должны учитывать размер семьи, а не только число кранов.", "Тарифы"),
]
LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish", "ar": "Arabic", "zh": "Chinese", "ru": "Russian"}
LANGUAGE_ORDER = ("en", "fr", "es", "ar", "zh", "ru")  # the demo's participant i writes in LANGUAGE_ORDER[(i - 1) % 6]
ACTIONS = (("post", 0.5), ("vote", 0.35), ("floor", 0.15))


class PlayerError(Exception):
    """The running server could not be played through (unreachable, sign-in refused, not a hearing)."""


@dataclass(frozen=True)
class Persona:
    email: str
    name: str
    constituency: str
    country: str
    language: str


@dataclass
class Tally:
    posted: int = 0
    held: int = 0
    votes: int = 0
    floor: int = 0
    refused: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def actions(self) -> int:
        return self.posted + self.held + self.votes + self.floor + self.refused


def personas(count: int) -> list[Persona]:
    """The demo's hearing participants (agora.services.demo.HEARING_MESSAGES), in language order."""
    from agora.services.demo import HEARING_MESSAGES

    found = [
        Persona(
            f"hearing-participant-{i}@agora.example",
            f"Participant {i}",
            constituency,
            country,
            LANGUAGE_ORDER[(i - 1) % len(LANGUAGE_ORDER)],
        )
        for i, (_text, constituency, country) in enumerate(HEARING_MESSAGES, start=1)
    ]
    # participant i wrote message i: the demo lists the six languages per concern, in order
    return found[: max(1, min(count, len(found)))]


def ensure_accounts(people: list[Persona]) -> None:
    """The participants exist (the demo creates them; a bare database gets them here)."""
    from sqlalchemy import select

    from agora.extensions import db
    from agora.models import User
    from agora.services.accounts import accounts

    for p in people:
        if db.session.scalar(select(User.id).where(User.email == p.email)) is None:
            user = accounts.register(p.email, PASSWORD, p.name)
            accounts.update_profile(
                user,
                accounts.Profile(
                    display_name=p.name,
                    constituency=p.constituency,
                    country=p.country,
                    gender=None,
                    languages=p.language,
                    locale=None,
                ),
            )


def live_hearing_id(hearing_id: int | None) -> int:
    """The hearing to play: the one asked for, else the demo's live hearing, else any live one."""
    from sqlalchemy import select

    from agora.extensions import db
    from agora.models import Hearing
    from agora.services import hearings
    from agora.services.errors import Closed, NotFound

    found = (
        hearings.get(hearing_id)
        if hearing_id is not None
        else (db.session.scalar(select(Hearing).where(Hearing.state == "live").order_by(Hearing.id)))
    )
    if found is None:
        raise NotFound("No hearing is live: load the demo (flask --app agora agora demo) or give --hearing.")
    hearing: Hearing = found
    if hearing.state != "live":
        raise Closed(f"Hearing #{hearing.id} is {hearing.state}, not live: its chair opens it first.")
    return hearing.id


class ServiceStage:
    """Acts through the services in this process (the calls the socket handlers make)."""

    kind = "services"

    def __init__(self, hearing_id: int):
        self.hearing_id = hearing_id
        self.users: dict[str, User] = {}  # email -> User

    def _user(self, persona: Persona) -> User:
        from agora.services.accounts import accounts

        if persona.email not in self.users:
            user = accounts.find_user_by_email(persona.email)
            if user is None:
                raise PlayerError(
                    f"{persona.email} has no account: ensure_accounts makes the personas' accounts first."
                )
            self.users[persona.email] = user
        return self.users[persona.email]

    def _act(self, call: Callable[[ModuleType, Hearing], _R]) -> tuple[_R | None, str | None]:
        """``call(hearings service, hearing)``'s result and no error, or no result and the refusal."""
        from agora.extensions import db
        from agora.services import hearings
        from agora.services.errors import AgoraError

        try:
            return call(hearings, hearings.get(self.hearing_id)), None
        except AgoraError as error:
            db.session.rollback()
            return None, error.message
        finally:
            hearings.flush()  # this process's batched frames go out now, not when it exits

    def post(self, persona: Persona, text: str, key: str) -> tuple[str | None, str | None]:
        submission, error = self._act(
            lambda h, hearing: h.post_message(hearing, self._user(persona), text, client_id=key)
        )
        return (submission.state if submission is not None else None), error

    def message_ids(self, persona: Persona) -> list[int]:
        from agora.services import hearings

        me = self._user(persona).id
        return [s.id for s in hearings.thread(hearings.get(self.hearing_id), limit=30) if s.author_id != me]

    def vote(self, persona: Persona, message_id: int, choice: str) -> tuple[bool, str | None]:
        _submission, error = self._act(lambda h, hearing: h.vote(hearing, self._user(persona), message_id, choice))
        return error is None, error

    def queued(self) -> set[str]:
        from agora.services import hearings

        state = hearings.state_payload(hearings.get(self.hearing_id))
        ids = {r["user_id"] for r in state["queue"] + ([state["speaker"]] if state["speaker"] else [])}
        return {email for email, user in self.users.items() if user.id in ids}

    def ask_floor(self, persona: Persona, topic: str) -> tuple[bool, str | None]:
        _request, error = self._act(
            lambda h, hearing: h.request_floor(hearing, self._user(persona), persona.constituency, topic)
        )
        return error is None, error

    def close(self) -> None:
        from agora.extensions import db

        db.session.remove()


class SocketStage:
    """Real Socket.IO clients, each signed in through the server's login form, as browsers are."""

    kind = "socket"

    def __init__(self, base_url: str, hearing_id: int, echo: Callable[[str], None] = print, timeout: float = 10.0):
        self.base, self.hearing_id, self.echo, self.timeout = base_url.rstrip("/"), hearing_id, echo, timeout
        self.clients: dict[str, tuple[socketio.Client, int, str]] = {}  # email -> (socketio client, user id, name)
        self.seen: list[tuple[int, str | None]] = []  # (message id, author name), newest last
        self.queue: set[int] = set()

    def _client(self, persona: Persona) -> tuple[socketio.Client, int, str]:
        if persona.email in self.clients:
            return self.clients[persona.email]
        import requests
        import socketio

        http = requests.Session()
        try:
            for attempt in range(12):  # the sign-in form allows a few attempts a minute per address
                form = http.get(self.base + "/account/login", timeout=self.timeout)
                token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text)
                if token is None:
                    raise PlayerError(f"{self.base}/account/login has no sign-in form: is it an Agora server?")
                answer = http.post(
                    self.base + "/account/login",
                    allow_redirects=False,
                    timeout=self.timeout,
                    data={"email": persona.email, "password": PASSWORD, "csrf_token": token.group(1)},
                )
                if answer.status_code != 429:
                    break
                if attempt == 0:
                    self.echo("  (the server limits sign-ins per minute: waiting a moment)")
                time.sleep(6)
            if answer.status_code != 302:
                raise PlayerError(
                    f"{persona.email} could not sign in to {self.base} (HTTP {answer.status_code}); "
                    "its password is the demo's (agora-demo-chair)."
                )
            page = http.get(f"{self.base}/hearings/{self.hearing_id}", timeout=self.timeout).text
            csrf = re.search(r'data-csrf="([^"]*)"', page)
            if csrf is None:
                raise PlayerError(f"{self.base}/hearings/{self.hearing_id} is not a hearing page.")
            client = socketio.Client(reconnection=False)
            client.on("messages", self._on_messages, namespace=NAMESPACE)
            client.on("state", self._on_state, namespace=NAMESPACE)
            cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
            client.connect(
                self.base,
                namespaces=[NAMESPACE],
                transports=["websocket"],
                auth={"csrf": csrf.group(1)},
                headers={"Cookie": cookie},
                wait_timeout=self.timeout,
            )
            joined = client.call("join", {"hearing_id": self.hearing_id}, namespace=NAMESPACE, timeout=self.timeout)
        except (requests.RequestException, socketio.exceptions.SocketIOError) as error:
            raise PlayerError(f"{self.base} did not answer as expected: {error}") from None
        if not joined.get("ok"):
            raise PlayerError(f"{persona.email} could not join hearing #{self.hearing_id}: {joined.get('error')}")
        self._on_messages({"messages": joined.get("messages", [])})
        self._on_state(joined["state"])
        self.clients[persona.email] = (client, joined["user"]["id"], persona.name)
        return self.clients[persona.email]

    def _on_messages(self, frame: dict | None) -> None:
        for m in (frame or {}).get("messages", []):
            if m["id"] not in {i for i, _a in self.seen}:
                self.seen.append((m["id"], m.get("author")))
        del self.seen[:-50]

    def _on_state(self, state: object) -> None:
        if isinstance(state, dict) and "queue" in state:
            self.queue = {r["user_id"] for r in state["queue"] + ([state["speaker"]] if state.get("speaker") else [])}

    def _call(self, persona: Persona, event: str, **payload: object) -> dict:
        client, _uid, _name = self._client(persona)
        return client.call(event, {"hearing_id": self.hearing_id, **payload}, namespace=NAMESPACE, timeout=self.timeout)

    def post(self, persona: Persona, text: str, key: str) -> tuple[str | None, str | None]:
        answer = self._call(persona, "post_message", text=text, client_id=key)
        return (answer.get("state"), None) if answer.get("ok") else (None, answer.get("error"))

    def message_ids(self, persona: Persona) -> list[int]:
        self._client(persona)
        return [i for i, author in self.seen if author != persona.name]

    def vote(self, persona: Persona, message_id: int, choice: str) -> tuple[bool, str | None]:
        answer = self._call(persona, "vote", id=message_id, vote=choice)
        return bool(answer.get("ok")), answer.get("error")

    def queued(self) -> set[str]:
        return {email for email, (_c, uid, _n) in self.clients.items() if uid in self.queue}

    def ask_floor(self, persona: Persona, topic: str) -> tuple[bool, str | None]:
        answer = self._call(persona, "request_floor", constituency=persona.constituency, topic=topic)
        return bool(answer.get("ok")), answer.get("error")

    def close(self) -> None:
        for client, _uid, _name in self.clients.values():
            try:
                if client.connected:
                    client.disconnect()
            except Exception:  # closing on the way out (Ctrl-C): nothing left to save
                pass


def play(
    stage: ServiceStage | SocketStage,
    people: list[Persona],
    *,
    count: int | None = 30,
    duration: float | None = None,
    pace: float = 4.0,
    seed: int | None = None,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> Tally:
    """Run ``count`` actions (or for ``duration`` seconds), about ``pace`` seconds apart (±50 %),
    printing each; returns what happened. Stops cleanly on KeyboardInterrupt (Ctrl-C)."""
    rng = random.Random(seed)
    tally = Tally()
    lines = {lang: [s for s in SCRIPT if s[0] == lang] for lang in LANGUAGE_ORDER}
    used: dict[str, int] = {}
    started = time.monotonic()
    run = f"{int(time.time())}"

    def say(text: str) -> None:
        line = f"[{time.monotonic() - started:6.1f}s] {text}"
        tally.lines.append(line)
        echo(line)

    try:
        while (count is None or tally.actions < count) and (duration is None or time.monotonic() - started < duration):
            persona = rng.choice(people)
            who = f"{persona.name} ({persona.constituency}, {persona.country})"
            script = lines[persona.language]
            n = used.get(persona.language, 0)
            language, text, topic = script[n % len(script)]
            if n >= len(script):
                text = f"{text} ({n // len(script) + 1})"  # said again later in the session
            action = rng.choices([a for a, _w in ACTIONS], weights=[w for _a, w in ACTIONS])[0]
            if action == "vote":
                candidates = stage.message_ids(persona)[-15:]
                action = "post" if not candidates else "vote"
            if action == "floor" and persona.email in stage.queued():
                action = "post"
            if action in ("post", "floor"):
                used[persona.language] = n + 1  # the next line in this language is a new one
            if action == "post":
                state, error = stage.post(persona, text, key=f"demo-live-{run}-{tally.actions}")
                if error:
                    tally.refused += 1
                    say(f"{who} could not post: {error}")
                else:
                    tally.posted += state == "published"
                    tally.held += state != "published"
                    say(
                        f"{who} posts in {LANGUAGE_NAMES[language]}: {text}"
                        + ("" if state == "published" else f"  [{state}: waits for a moderator]")
                    )
            elif action == "vote":
                message_id = rng.choice(candidates)
                choice = rng.choices(["agree", "disagree", "pass"], weights=[6, 3, 1])[0]
                ok, error = stage.vote(persona, message_id, choice)
                tally.votes += ok
                tally.refused += not ok
                say(f"{who} votes {choice} on message #{message_id}" + ("" if ok else f": refused ({error})"))
            else:
                ok, error = stage.ask_floor(persona, topic)
                tally.floor += ok
                tally.refused += not ok
                say(f"{who} asks for the floor: {topic}" + ("" if ok else f": refused ({error})"))
            if (count is None or tally.actions < count) and pace > 0:
                sleep(pace * rng.uniform(0.5, 1.5))
    except KeyboardInterrupt:
        say("Stopped (Ctrl-C); everything done so far is saved.")
    finally:
        stage.close()
    return tally
