"""The staff console in real Chromium against the live service, while a
scripted lead chats over its own socket."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.browser.console_helpers import login
from tests.integration.conftest import LeadSocket, open_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]


class LeadDriver:
    """A lead on a socket of its own, driven from the browser's thread: the
    socket lives on an event loop in a third thread for the whole scenario."""

    def __init__(self, server, key: str):
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.session = open_session(server, key)
        self.conversation = self.session["conversation"]
        self.socket: LeadSocket = self.run(LeadSocket.connect(server, self.session["visitor_token"]))

    def run(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _serve(self) -> None:
        self.loop.run_forever()
        self.loop.close()

    def close(self) -> None:
        async def cancel_the_rest():
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        async def close_socket():
            try:
                await asyncio.wait_for(self.socket.close(), 5)
            except (asyncio.TimeoutError, OSError):
                pass  # the server may already have gone; the loop is torn down regardless

        try:
            self.run(close_socket(), 10)
            self.run(cancel_the_rest(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


class MonitorLink:
    """The console's monitor socket through Playwright's WebSocket routing, so
    a test can cut the network under it and refuse reconnects for a while."""

    def __init__(self, page):
        self.up = True
        self.routes = []
        self.refused = 0
        self.connects = 0
        page.route_web_socket("**/ws/v1/monitor", self._route)

    def _route(self, ws) -> None:
        if not self.up:
            self.refused += 1
            ws.close(code=4000, reason="network down")
            return
        self.connects += 1
        ws.connect_to_server()
        self.routes.append(ws)

    def drop(self) -> None:
        self.up = False
        for ws in self.routes:
            ws.close(code=4000, reason="network down")
        self.routes.clear()


def test_console_watches_takes_over_replies_and_releases(web_pool, transactional_db, make_agency, in_browser,
                                                         screenshots):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="6", CHAT_RATE_BURST="100")
    a = make_agency("Consola")

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        network = MonitorLink(page)
        page.goto(server.base_url + "/console/")
        page.get_by_role("heading", name="Entra en tu consola").wait_for()
        page.screenshot(path=screenshots / "console-login-desktop.png")
        login(page, server.base_url, a.agent, a.password)
        page.get_by_text("Todavía no hay conversaciones").wait_for()

        # A new lead arrives: its conversation shows up without a reload.
        lead = LeadDriver(server, a.key.key)
        try:
            conv = lead.conversation
            item = page.locator(f'[data-conversation="{conv}"]')
            item.wait_for(timeout=30000)
            # Opened while the assistant's (long) opening is streaming: it grows token by token.
            item.click()
            page.wait_for_url(f"**/console/c/{conv}")
            streaming = page.locator(".msg.assistant.streaming .msg-text")
            streaming.wait_for(timeout=20000)
            samples = []
            for _ in range(6):
                if streaming.count() == 0:
                    break
                samples.append(len(streaming.first.inner_text()))
                page.wait_for_timeout(300)
            opening = lead.run(lead.socket.assistant_reply(60))
            shown = page.locator(f'.msg.assistant[data-turn="{opening["turn"]}"]:not(.streaming) .msg-text')
            shown.wait_for(timeout=20000)
            streamed_text = shown.inner_text()

            # The lead types, then answers: the message and the next reply appear live.
            lead.run(lead.socket.send({"type": "typing"}))
            page.get_by_text("El lead está escribiendo…").wait_for(timeout=10000)
            lead.run(lead.socket.say("Sí, acepto"))
            page.locator(".msg.lead", has_text="Sí, acepto").wait_for(timeout=15000)
            reply = lead.run(lead.socket.assistant_reply(60))
            page.locator(f'.msg.assistant[data-turn="{reply["turn"]}"]:not(.streaming)').wait_for(timeout=20000)
            item_text = item.inner_text()

            # Take over, reply, write a private note, release.
            page.get_by_role("button", name="Tomar el control").click()
            page.get_by_text("La atiendes tú").wait_for(timeout=10000)
            lead.run(lead.socket.until_type("handoff", active=True))
            box = page.get_by_label("Responder al lead")
            box.fill("Hola, soy del equipo de la agencia. ¿En qué te ayudo?")
            box.press("Enter")
            agent_turn = lead.run(lead.socket.until_type("turn.completed", role="agent"))
            page.locator(".msg.agent", has_text="soy del equipo").wait_for(timeout=10000)
            page.get_by_label("Nueva nota privada").fill("Cliente con prisa: llamar mañana a primera hora")
            page.get_by_role("button", name="Guardar nota").click()
            page.locator(".note", has_text="llamar mañana").wait_for(timeout=10000)
            lead.run(lead.socket.say("Me llamo Lucía Martín"))
            page.locator(".msg.lead", has_text="Lucía Martín").wait_for(timeout=10000)
            page.wait_for_timeout(300)
            page.screenshot(path=screenshots / "console-takeover-desktop.png")
            page.get_by_role("button", name="Devolver al asistente").click()
            lead.run(lead.socket.until_type("handoff", active=False))
            page.get_by_role("button", name="Tomar el control").wait_for(timeout=10000)
            resumed = lead.run(lead.socket.assistant_reply(60))
            page.locator(f'.msg.assistant[data-turn="{resumed["turn"]}"]:not(.streaming)').wait_for(timeout=20000)
            lead_frames = list(lead.socket.frames)
            # What the lead said meanwhile counted on release: the list and the lead panel show the name.
            item.locator(".item-name", has_text="Lucía Martín").wait_for(timeout=10000)
            page.locator(".lead-name", has_text="Lucía Martín").wait_for(timeout=10000)

            # Full-text search goes to the server.
            search = page.get_by_label("Buscar en las conversaciones")
            search.fill("acepto")
            page.get_by_role("status").filter(has_text="1 resultados").wait_for(timeout=10000)
            found = item.count()
            search.fill("zanahoria")
            page.get_by_text("Ninguna conversación coincide").wait_for(timeout=10000)
            missing = item.count()
            search.fill("")
            item.wait_for()

            # The network drops: the console says so, reconnects by itself and replays what it missed.
            network.drop()
            page.locator(".conn.offline").wait_for(timeout=15000)
            lead.run(lead.socket.say("Trabajo en Dulces Lucía"))
            lead.run(lead.socket.assistant_reply(60))
            page.wait_for_timeout(1500)  # a few refused attempts, backing off
            refused = network.refused
            network.up = True
            page.locator(".conn.live").wait_for(timeout=30000)
            page.locator(".msg.lead", has_text="Dulces Lucía").wait_for(timeout=15000)

            # Tablet width: the conversation, then the list.
            page.set_viewport_size({"width": 768, "height": 1024})
            page.wait_for_timeout(300)
            page.screenshot(path=screenshots / "console-conversation-tablet.png")
            page.get_by_role("button", name="Volver a la lista").click()
            item.wait_for()
            page.screenshot(path=screenshots / "console-list-tablet.png")
            page.set_viewport_size({"width": 1440, "height": 900})
            item.click()
            page.locator(".msg.agent").wait_for()
            page.screenshot(path=screenshots / "console-conversation-desktop.png")
            # Each turn once, even after all that replaying.
            turns = page.locator(".msg[data-turn]").evaluate_all("els => els.map(e => e.dataset.turn)")
        finally:
            lead.close()
        return {"errors": errors, "samples": samples, "streamed": streamed_text, "opening": opening, "turns": turns,
                "agent_turn": agent_turn, "lead_frames": lead_frames, "item": item_text, "found": found,
                "missing": missing, "refused": refused, "connects": network.connects}

    r = in_browser(scenario)
    assert not r["errors"], r["errors"]
    # Deltas arrived while the turn was streaming (the text grew), and the end result is exactly the turn.
    assert len(r["samples"]) >= 2 and r["samples"][-1] > r["samples"][0], r["samples"]
    assert r["streamed"] == r["opening"]["text"]
    assert len(r["turns"]) == len(set(r["turns"]))
    assert r["agent_turn"]["text"] == "Hola, soy del equipo de la agencia. ¿En qué te ayudo?"
    assert not [f for f in r["lead_frames"] if f.get("type") == "note"]
    assert "Abierta" in r["item"]
    assert (r["found"], r["missing"]) == (1, 0)
    # It retried with backoff (a few attempts, not a tight loop) and came back on its own.
    assert 1 <= r["refused"] <= 6 and r["connects"] >= 2


def test_viewer_sees_no_takeover_and_language_switch_is_remembered(web_pool, transactional_db, make_agency,
                                                                    in_browser, screenshots):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="400", CHAT_RATE_BURST="100")
    a = make_agency("Lectura")

    def scenario(browser):
        lead = LeadDriver(server, a.key.key)
        try:
            lead.run(lead.socket.assistant_reply(30))
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            login(page, server.base_url, a.viewer, a.password)
            item = page.locator(f'[data-conversation="{lead.conversation}"]')
            item.wait_for()
            # A new message while nobody looks: an unread badge, gone once opened.
            lead.run(lead.socket.say("Sí, acepto"))
            item.locator(".badge").wait_for(timeout=15000)
            unread = int(item.locator(".badge").inner_text())
            page.screenshot(path=screenshots / "console-unread-desktop.png")
            # Keyboard only: the item takes a visible focus ring and Enter opens it.
            page.keyboard.press("Tab")
            item.focus()
            page.keyboard.press("Shift+Tab")
            page.keyboard.press("Tab")
            ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            focused = page.evaluate("document.activeElement.dataset.conversation")
            page.keyboard.press("Enter")
            page.wait_for_url(f"**/console/c/{lead.conversation}")
            item.locator(".badge").wait_for(state="detached")
            page.locator(".msg.assistant:not(.streaming)").first.wait_for(timeout=15000)
            page.get_by_text("Tu rol es de solo lectura").wait_for()
            takeover_buttons = page.get_by_role("button", name="Tomar el control").count()
            reply_boxes = page.get_by_label("Responder al lead").count()

            page.get_by_role("button", name="EN", exact=True).click()
            page.get_by_role("button", name="Sign out").wait_for()
            english = {
                "heading": page.get_by_role("heading", name="Conversations").count(),
                "hint": page.get_by_text("Your role is read-only").count(),
                "lang": page.evaluate("document.documentElement.lang"),
            }
            # A reload keeps the language and, through the tab's refresh token, the session.
            page.reload()
            page.locator(".conn.live").wait_for(timeout=15000)
            page.get_by_role("button", name="Sign out").wait_for()
            page.locator(".msg.assistant").first.wait_for(timeout=15000)
            page.screenshot(path=screenshots / "console-viewer-english-desktop.png")
            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("heading", name="Sign in to your console").wait_for()
            after_logout = page.evaluate("sessionStorage.getItem('mkz.refresh')")
        finally:
            lead.close()
        return takeover_buttons, reply_boxes, english, after_logout, unread, ring, focused == lead.conversation

    takeover_buttons, reply_boxes, english, after_logout, unread, ring, focused = in_browser(scenario)
    assert unread >= 1
    assert ring == "solid" and focused
    assert takeover_buttons == 0 and reply_boxes == 0
    assert english == {"heading": 1, "hint": 1, "lang": "en"}
    assert after_logout is None


def test_access_token_is_refreshed_silently_before_it_expires(web_pool, transactional_db, make_agency, in_browser):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="400", CHAT_RATE_BURST="100")
    a = make_agency("Refresco")

    def scenario(browser):
        page = browser.new_page()
        page.clock.install()
        network = MonitorLink(page)
        login(page, server.base_url, a.agent, a.password)
        first = page.evaluate("sessionStorage.getItem('mkz.refresh')")
        with page.expect_response("**/api/v1/auth/refresh") as refreshed:
            page.clock.run_for("14:30")  # the access token lives 15 minutes
        status = refreshed.value.status
        page.wait_for_function("n => window.sessionStorage.getItem('mkz.refresh') !== n", arg=first)
        # The socket carries the token it authenticated with: it reconnects with the new one.
        page.wait_for_function("() => document.querySelector('.conn.live') !== null")
        lead = LeadDriver(server, a.key.key)
        try:
            page.locator(f'[data-conversation="{lead.conversation}"]').wait_for(timeout=15000)
            # A REST call answered 401 (say, the key rotated): refresh once, retry, carry on.
            answered = []

            def once_unauthorised(route):
                if not answered:
                    answered.append(401)
                    route.fulfill(status=401, json={"error": {"code": "unauthenticated", "message": "x"}})
                else:
                    answered.append(200)
                    route.continue_()

            page.route("**/api/v1/conversations/*/", once_unauthorised)
            with page.expect_response("**/api/v1/auth/refresh") as second:
                page.locator(f'[data-conversation="{lead.conversation}"]').click()
            retried_status = second.value.status
            page.locator(".msg.assistant").first.wait_for(timeout=15000)
            page.wait_for_function("() => document.querySelector('.chat-sub .status') !== null")
        finally:
            lead.close()
        return status, network.connects, answered, retried_status, page.locator(".login").count()

    status, connects, answered, retried_status, on_login = in_browser(scenario)
    assert status == 200 and retried_status == 200
    assert connects >= 2
    # (the refreshed token also reconnects the socket, whose resync fetches the detail again)
    assert answered[:2] == [401, 200] and on_login == 0


def _off_loop(fn):
    """ORM work from the browser's thread, which runs Playwright's event loop."""
    from concurrent.futures import ThreadPoolExecutor

    def call():
        from django.db import connection

        try:
            return fn()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(30)


def _announce_strategy(agency_id, conversation_id, status: str, pdf_url: str | None = None) -> None:
    """A `strategy` frame as the strategy pipeline announces it (CONTRACT §3.1)."""
    from django.db import transaction
    from django_scopes import scope

    from chat.hub import publish_from_sync
    from chat.models import Conversation
    from chat.services import Effects, frame_append

    with transaction.atomic(), scope(agency=agency_id):
        conversation = Conversation.objects.select_for_update().get(id=conversation_id)
        frame = frame_append(conversation, type="strategy", build=lambda seq: {
            "seq": seq, "type": "strategy", "status": status, **({"pdf_url": pdf_url} if pdf_url else {})})
        conversation.save(update_fields=["last_seq"])
    publish_from_sync(Effects(conversation.id, agency_id, frames=[frame]))


def test_someone_else_owns_it_and_the_strategy_status_arrives_live(web_pool, transactional_db, make_agency,
                                                                    in_browser, screenshots):
    import json

    import httpx
    import websockets

    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="400", CHAT_RATE_BURST="100")
    a = make_agency("Estrategia")
    admin_access = httpx.post(server.base_url + "/api/v1/auth/token",
                              json={"email": a.admin.email, "password": a.password}).json()["access"]

    async def admin_takes_over(conversation):
        ws = await websockets.connect(server.ws_url + "/ws/v1/monitor")
        await ws.send(json.dumps({"type": "auth", "token": admin_access}))
        await ws.send(json.dumps({"type": "subscribe", "conversation": conversation}))
        await ws.send(json.dumps({"type": "takeover", "conversation": conversation}))
        while json.loads(await ws.recv()).get("type") != "takeover.ok":
            pass
        return ws

    def scenario(browser):
        lead = LeadDriver(server, a.key.key)
        try:
            lead.run(lead.socket.assistant_reply(30))
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            login(page, server.base_url, a.agent, a.password)

            # Keys other parts add to the lead detail are shown when present.
            def with_crm(route):
                body = route.fetch().json()
                body["crm"] = {"status": "failed", "last_error": "Clientify respondió 401: token no válido"}
                route.fulfill(json=body)

            page.route("**/api/v1/leads/*/", with_crm)
            page.locator(f'[data-conversation="{lead.conversation}"]').click()
            page.locator(".msg.assistant:not(.streaming)").first.wait_for(timeout=15000)
            admin_ws = lead.run(admin_takes_over(lead.conversation))
            page.get_by_text(f"{a.admin.name} atiende esta conversación.").wait_for(timeout=10000)
            page.locator(f'[data-conversation="{lead.conversation}"] .owner-tag', has_text=a.admin.name).wait_for()
            page.locator(f'.presence [data-watcher="{a.admin.name}"]').wait_for(timeout=10000)
            page.get_by_role("button", name="Tomar el control").click()
            alert = page.get_by_role("alert").filter(has_text="Otra persona del equipo ya atiende esta conversación.")
            alert.wait_for(timeout=10000)
            reply_disabled = page.get_by_label("Responder al lead").is_disabled()
            lead.run(admin_ws.close())

            page.locator('[data-crm="failed"]').wait_for(timeout=15000)
            crm_error = page.locator(".crm-error").inner_text()
            _off_loop(lambda: _announce_strategy(a.agency.id, lead.conversation, "generating"))
            page.locator('[data-strategy="generating"]').wait_for(timeout=10000)
            pdf = "/api/v1/strategies/00000000-0000-4000-8000-000000000000/pdf?sig=abc"
            _off_loop(lambda: _announce_strategy(a.agency.id, lead.conversation, "ready", pdf))
            page.locator('[data-strategy="ready"]').wait_for(timeout=10000)
            link = page.get_by_role("link", name="Descargar PDF").get_attribute("href")
            page.screenshot(path=screenshots / "console-strategy-desktop.png")
        finally:
            lead.close()
        return reply_disabled, link, crm_error

    reply_disabled, link, crm_error = in_browser(scenario)
    assert crm_error == "Clientify respondió 401: token no válido"
    assert reply_disabled
    assert link == "/api/v1/strategies/00000000-0000-4000-8000-000000000000/pdf?sig=abc"


def test_qualified_lead_shows_score_reasons_and_answers(web_pool, transactional_db, make_agency, in_browser,
                                                         screenshots):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="0", CHAT_RATE_BURST="100", CHAT_RATE_MESSAGES="1000")
    a = make_agency("Cualifica")
    answers = ["Sí, acepto", "Me llamo Marta Ruiz", "Moda Marta", "Servicios locales", "no tengo", "captar clientes",
               "vecinos del barrio", "redes sociales", "2.000 € al mes", "ya", "marta@moda.es", "prefiero no"]

    def scenario(browser):
        lead = LeadDriver(server, a.key.key)
        try:
            lead.run(lead.socket.assistant_reply(30))
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            login(page, server.base_url, a.owner, a.password)
            page.locator(f'[data-conversation="{lead.conversation}"]').click()
            for text in answers:
                lead.run(lead.socket.say(text))
                lead.run(lead.socket.assistant_reply(30))
            done = [f for f in lead.socket.frames if f.get("type") == "qualification"][-1]
            page.locator(".score.big").wait_for(timeout=15000)
            page.locator(".answers dd", has_text="marta@moda.es").wait_for(timeout=15000)
            item = page.locator(f'[data-conversation="{lead.conversation}"]')
            item.locator(".status.qualified").wait_for(timeout=15000)
            shown = {
                "score": page.locator(".score.big").inner_text(),
                "reasons": page.locator(".reasons li").count(),
                "listed": item.locator(".score").inner_text(),
                "progress": page.locator(".lead-progress [role=progressbar]").get_attribute("aria-valuenow"),
            }
            # Qualified: the strategy pipeline runs and its status reaches the panel live.
            page.locator('[data-strategy="ready"]').wait_for(timeout=90000)
            shown["pdf"] = page.get_by_role("link", name="Descargar PDF").get_attribute("href")
            page.screenshot(path=screenshots / "console-qualified-desktop.png")
            page.set_viewport_size({"width": 768, "height": 1024})
            page.wait_for_timeout(300)
            page.screenshot(path=screenshots / "console-qualified-tablet.png")
        finally:
            lead.close()
        return shown, done, lead.conversation

    shown, done, conversation = in_browser(scenario)
    from django_scopes import scopes_disabled

    with scopes_disabled():
        from qualification.models import Lead

        lead = Lead.objects.get(conversation_id=conversation)
    assert lead.status == "qualified" and lead.score is not None
    assert shown["score"] == shown["listed"] == str(lead.score)
    assert shown["reasons"] == len(lead.score_reasons) >= 3
    assert done["step"] == "done" and done["progress"] == 1 and shown["progress"] == "100"
    assert "/strategies/" in shown["pdf"] and "/pdf" in shown["pdf"]


def test_invitation_link_sets_a_password_and_signs_in(web_pool, transactional_db, make_agency, in_browser,
                                                      screenshots):
    from django_scopes import scopes_disabled

    from tenancy.actors import StaffActor
    from tenancy.models import Membership
    from tenancy.services import invitation_create

    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="400")
    a = make_agency("Invita")
    owner = StaffActor(user_id=a.owner.id, agency_id=a.agency.id, role="owner", name="Owner")
    _, token = invitation_create(actor=owner, email="lucia.perez@example.com", role="agent", base_url=server.base_url)

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{server.base_url}/console/invitations/{token}")
        page.get_by_role("heading", name=f"Únete a {a.agency.name}").wait_for()
        page.get_by_label("Tu nombre").fill("Lucía Pérez")
        page.get_by_label("Crea una contraseña").fill("1234")
        page.get_by_role("button", name="Aceptar la invitación").click()
        weak = page.get_by_role("alert").inner_text()
        page.get_by_label("Crea una contraseña").fill("otoño-en-el-puerto-42")
        page.screenshot(path=screenshots / "console-invitation-desktop.png")
        page.get_by_role("button", name="Aceptar la invitación").click()
        page.locator(".conn.live").wait_for(timeout=15000)
        landed = page.evaluate("location.pathname")
        who = page.locator(".who-name").inner_text()
        # A link used twice says so instead of showing a form.
        page.goto(f"{server.base_url}/console/invitations/{token}")
        page.get_by_text("Esta invitación ya se usó.").wait_for()
        page.goto(f"{server.base_url}/console/invitations/{'x' * 43}")
        page.get_by_text("Este enlace de invitación no es válido.").wait_for()
        return weak, landed, who

    weak, landed, who = in_browser(scenario)
    assert "demasiado corta" in weak  # Django's validators, through the API
    assert landed == "/console/" and who == "Lucía Pérez"
    with scopes_disabled():
        membership = Membership.objects.get(agency=a.agency, user__email="lucia.perez@example.com")
    assert membership.role == "agent"
