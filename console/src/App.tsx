import { useEffect, useMemo, useRef, useState } from "react";

import { ApiError, atLeast, auth, me as fetchMe, type Me } from "./api";
import { Invitation } from "./Invitation";
import { forgetLeads } from "./LeadPanel";
import { I18n, initialLang, rememberLang, translator, useI18n, type Lang } from "./i18n";
import { MonitorSocket, type ConnState } from "./monitor";
import { BASE, Link, navigate, pathOf, useRoute } from "./router";
import { SECTIONS } from "./sections";
import { openConversation } from "./sections/Conversations";
import { useFirstRunLanding } from "./sections/firstRun";
import { store } from "./store";

/** /console/invitations/<token>: the link of an invitation email (router.tsx). */
function invitationToken(): string | null {
  const match = location.pathname.match(/^\/console\/invitations\/([A-Za-z0-9_-]{16,128})\/?$/);
  return match ? match[1] : null;
}

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [signedIn, setSignedIn] = useState(auth.signedIn);
  const [resuming, setResuming] = useState(true);
  const [invitation, setInvitation] = useState(invitationToken);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = `Markezy · ${translator(lang)("app.title")}`;
  }, [lang]);
  useEffect(() => auth.onChange(() => setSignedIn(auth.signedIn)), []);
  useEffect(() => {
    auth.resume().catch(() => false).finally(() => setResuming(false));
  }, []);

  const i18n = useMemo(
    () => ({ lang, t: translator(lang), setLang: (l: Lang) => { rememberLang(l); setLangState(l); } }),
    [lang],
  );
  return (
    <I18n.Provider value={i18n}>
      {invitation ? (
        <Invitation token={invitation} onDone={() => {
          history.replaceState(null, "", BASE);
          setInvitation(null);
        }} />
      ) : resuming ? <div className="splash" aria-busy="true"><Logo /></div> : signedIn ? <Console /> : <Login />}
    </I18n.Provider>
  );
}

export function Logo({ small = false }: { small?: boolean }) {
  return (
    <span className={small ? "logo small" : "logo"}>
      <svg viewBox="0 0 32 32" aria-hidden="true" focusable="false">
        <rect width="32" height="32" rx="8" fill="currentColor" />
        <path d="M8 23V9h3.2l4.8 7 4.8-7H24v14h-3.2v-8.6L16 21l-4.8-6.6V23z" fill="#fff" />
      </svg>
      <span className="logo-word">Markezy</span>
    </span>
  );
}

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <div className="lang" role="group" aria-label={t("nav.language")}>
      {(["es", "en"] as Lang[]).map((l) => (
        <button key={l} type="button" className={l === lang ? "on" : ""} aria-pressed={l === lang} onClick={() => setLang(l)}
                lang={l}>
          {l === "es" ? "ES" : "EN"}
        </button>
      ))}
    </div>
  );
}

function Login() {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await auth.login(email, password);
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      setError(t(status === 401 || status === 400 ? "login.bad" : status === 429 ? "login.throttled" : "login.failed"));
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <div className="login-card">
        <div className="login-top">
          <Logo />
          <LanguageSwitch />
        </div>
        <h1>{t("login.title")}</h1>
        <p className="muted">{t("login.subtitle")}</p>
        <form onSubmit={submit} noValidate>
          <label>
            <span>{t("login.email")}</span>
            <input type="email" name="email" autoComplete="username" required value={email}
                   onChange={(e) => setEmail(e.target.value)} autoFocus />
          </label>
          <label>
            <span>{t("login.password")}</span>
            <input type="password" name="password" autoComplete="current-password" required value={password}
                   onChange={(e) => setPassword(e.target.value)} />
          </label>
          {error && <p className="form-error" role="alert">{error}</p>}
          <button type="submit" className="primary wide" disabled={busy || !email || !password}>
            {busy ? t("login.busy") : t("login.submit")}
          </button>
        </form>
      </div>
      <p className="login-foot muted">{t("app.tagline")}</p>
    </main>
  );
}

function Console() {
  const { t } = useI18n();
  const [profile, setProfile] = useState<Me | null>(null);
  const [conn, setConn] = useState<ConnState>("connecting");
  const route = useRoute();
  const [resyncs, setResyncs] = useState(0);
  const [announcement, setAnnouncement] = useState("");
  const socket = useMemo(() => new MonitorSocket(), []);
  const tRef = useRef(t);
  tRef.current = t;

  useEffect(() => {
    fetchMe().then(setProfile, () => undefined);
  }, []);
  useFirstRunLanding(profile);

  useEffect(() => {
    const offFrame = socket.onFrame((frame) => store.handle(frame));
    const offState = socket.onState(setConn);
    // Each (re)connect: reload the list, the conversation view re-fetches too.
    const offReady = socket.onReady(() => setResyncs((n) => n + 1));
    socket.start();
    return () => {
      offFrame();
      offState();
      offReady();
      socket.stop();
      // Signed out: no lead's personal data stays in this tab's memory.
      store.reset();
      forgetLeads();
    };
  }, [socket]);

  useEffect(() => {
    store.setAnnouncer((entry) => {
      const who = entry.role === "lead" ? tRef.current("role.lead")
        : entry.role === "agent" ? entry.agentName || tRef.current("role.agent") : tRef.current("role.assistant");
      setAnnouncement(tRef.current("announce.message", { who, text: entry.text.slice(0, 200) }));
    });
    return () => store.setAnnouncer(null);
  }, []);

  const openId = openConversation(route.section, route.rest);
  useEffect(() => {
    store.open(openId);
    if (!openId) return;
    socket.subscribe(openId);
    return () => socket.unsubscribe(openId);
  }, [openId, socket]);

  const visible = SECTIONS.filter((s) => profile && atLeast(profile.role, s.minRole));
  const section = visible.find((s) => s.id === route.section) ?? null;
  useEffect(() => {
    // An unknown section (or one this role may not use): back to the conversations.
    if (profile && !section) navigate(BASE, { replace: true });
  }, [profile, section]);

  return (
    <div className={`shell section-${route.section}${openId ? " has-open" : ""}`}>
      <a className="skip" href="#main">{t("nav.skip")}</a>
      <header className="topbar">
        <Logo small />
        <span className="agency">{profile?.agency.name}</span>
        <span className={`conn ${conn}`} role="status">
          <span className="dot" aria-hidden="true" />
          {t(conn === "live" ? "conn.live" : conn === "connecting" ? "conn.connecting" : "conn.offline")}
        </span>
        <span className="spacer" />
        <LanguageSwitch />
        {profile && (
          <span className="who" title={profile.user.email}>
            <span className="avatar" aria-hidden="true">{initials(profile.user.name || profile.user.email)}</span>
            <span className="who-name">{profile.user.name || profile.user.email}</span>
          </span>
        )}
        <button type="button" className="ghost" onClick={() => void auth.logout()}>{t("nav.logout")}</button>
      </header>
      <nav className="sections" aria-label={t("nav.sections")}>
        {visible.map((s) => (
          <Link key={s.id} to={pathOf(s.id)} aria-current={s.id === route.section ? "page" : undefined}
                className={s.id === route.section ? "on" : ""}>
            {t(s.label)}
          </Link>
        ))}
      </nav>
      {profile && section ? (
        <section.render me={profile} rest={route.rest} socket={socket} resyncs={resyncs} />
      ) : (
        <div className="splash" aria-busy="true" />
      )}
      <div className="sr-only" aria-live="polite" aria-atomic="true">{announcement}</div>
    </div>
  );
}

export function initials(name: string): string {
  const parts = name.trim().split(/[\s@.]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? "?") + (parts[1]?.[0] ?? "")).toUpperCase();
}
