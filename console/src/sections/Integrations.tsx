import { useCallback, useEffect, useId, useRef, useState } from "react";

import { ApiError, FieldsError } from "../api";
import { useI18n } from "../i18n";
import { Link, pathOf } from "../router";
import type { SectionProps } from "../sections";
import {
  deadLetters, getClientify, resync, saveClientify, testClientify,
  type Clientify, type DeadLetter, type TestResult,
} from "./integrations.api";
import { MappingEditor } from "./IntegrationsMapping";
import { CopyButton, errorText, when } from "./IntegrationsShared";
import { Webhooks } from "./IntegrationsWebhooks";
import "./Integrations.css";

/** /console/integrations[/clientify] and /console/integrations/webhooks[/<endpoint>]. */
export function Integrations({ rest }: SectionProps) {
  const { t } = useI18n();
  const tab = rest[0] === "webhooks" ? "webhooks" : "clientify";
  return (
    <main id="main" className="page intg" tabIndex={-1}>
      <div className="page-inner">
        <div className="page-head">
          <div>
            <h1>{t("int.title")}</h1>
            <p className="muted">{t("int.subtitle")}</p>
          </div>
        </div>
        <nav className="intg-tabs" aria-label={t("int.tabs")}>
          {(["clientify", "webhooks"] as const).map((id) => (
            <Link key={id} to={pathOf("integrations", id)} className={tab === id ? "on" : ""}
                  aria-current={tab === id ? "page" : undefined}>
              {t(`int.tab.${id}`)}
            </Link>
          ))}
        </nav>
        {tab === "clientify" ? <ClientifyPanel /> : <Webhooks endpointId={rest[1] ?? null} />}
      </div>
    </main>
  );
}

function ClientifyPanel() {
  const { t } = useI18n();
  const [data, setData] = useState<Clientify | null>(null);
  const [dead, setDead] = useState<DeadLetter[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [connection, letters] = await Promise.all([getClientify(), deadLetters()]);
      setData(connection);
      setDead(letters.results);
      setError(null);
    } catch (err) {
      setError(errorText(t, err));
    }
  }, [t]);

  useEffect(() => {
    void load();
    // The sync runs in the background: health and failed leads are refreshed now and then while the tab is shown.
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") void load();
    }, 10_000);
    return () => window.clearInterval(timer);
  }, [load]);

  if (!data) {
    return error ? <p className="form-error" role="alert">{error}</p> : <p className="muted">{t("int.loading")}</p>;
  }
  return (
    <div className="intg-grid">
      <Connection data={data} onSaved={(next) => { setData(next); void load(); }} />
      <Health data={data} onRefresh={() => void load()} />
      <DeadLetters letters={dead ?? []} onChanged={() => void load()} />
      <MappingEditor data={data} onSaved={setData} />
    </div>
  );
}

function Connection({ data, onSaved }: { data: Clientify; onSaved: (c: Clientify) => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState("");
  const [enabled, setEnabled] = useState(data.enabled || !data.connected);
  const [busy, setBusy] = useState<"save" | "test" | null>(null);
  const [fieldError, setFieldError] = useState<"rejected" | "missing" | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [test, setTest] = useState<TestResult | null>(null);
  const tokenId = useId();
  const hintId = useId();
  const errorId = useId();
  const testId = useId();
  const last4 = data.api_token?.last4 ?? "";
  const stored = !!data.api_token?.set;

  useEffect(() => setEnabled(data.enabled || !data.connected), [data.enabled, data.connected]);

  async function save(event: React.FormEvent) {
    event.preventDefault();
    setBusy("save");
    setTest(null); // the save's own answer replaces an earlier test's
    setFieldError(null);
    setFormError(null);
    setSaved(false);
    try {
      const next = await saveClientify({ ...(token.trim() ? { api_token: token.trim() } : {}), enabled });
      setToken("");
      setSaved(true);
      onSaved(next);
    } catch (err) {
      // The API's reasons are in Spanish: the console says them in its own language.
      if (err instanceof FieldsError && err.fields.api_token) {
        setFieldError(token.trim() ? "rejected" : "missing");
      } else setFormError(errorText(t, err));
    } finally {
      setBusy(null);
    }
  }

  async function runTest() {
    setBusy("test");
    setTest(null);
    setFieldError(null);
    setFormError(null);
    try {
      setTest(await testClientify(token.trim() || undefined));
    } catch (err) {
      if (err instanceof FieldsError && err.fields.api_token) setFieldError("missing");
      else setFormError(errorText(t, err));
    } finally {
      setBusy(null);
    }
  }

  const state = data.connected ? (data.enabled ? "connected" : "paused") : "none";
  const accountName = data.account ? data.account.company || data.account.name || data.account.email || String(data.account.id) : null;
  const describedBy = [hintId, fieldError ? errorId : "", test ? testId : ""].filter(Boolean).join(" ");
  return (
    <section className="card intg-connection" aria-labelledby="cfy-connection-title">
      <div className="intg-card-head">
        <h2 id="cfy-connection-title">{t("cfy.connection")}</h2>
        <span className={`pill ${state === "connected" ? "synced" : state === "paused" ? "pending" : ""}`} data-state={state}>
          {t(`cfy.state.${state}`)}
        </span>
      </div>
      {accountName && <p className="muted small">{t("cfy.account", { name: accountName })}</p>}
      <form className="intg-form" onSubmit={save} noValidate>
        <div className="intg-field">
          <label htmlFor={tokenId}>{t("cfy.token")}</label>
          <div className="intg-inline">
            <input id={tokenId} type="password" autoComplete="off" spellCheck={false} value={token}
                   placeholder={stored ? t("cfy.token.placeholder.set", { last4 }) : t("cfy.token.placeholder")}
                   aria-invalid={fieldError ? true : undefined} aria-describedby={describedBy}
                   onChange={(e) => { setToken(e.target.value); setTest(null); setFieldError(null); }} />
            <button type="button" className="secondary" disabled={busy !== null || (!token.trim() && !stored)}
                    onClick={() => void runTest()}>
              {busy === "test" ? t("cfy.testing") : t("cfy.test")}
            </button>
          </div>
          <span className="muted small" id={hintId}>
            {stored ? t("cfy.token.set", { last4 }) : t("cfy.token.unset")}
          </span>
          {fieldError && (
            <span className="field-error" id={errorId} role="alert">
              {t(fieldError === "rejected" ? "cfy.test.rejected" : "cfy.test.none")}
            </span>
          )}
          {test && (
            <span id={testId} className={`intg-test ${test.ok ? "ok" : "bad"}`} role={test.ok ? "status" : "alert"}
                  data-test-result={test.ok ? "ok" : test.code}>
              {test.ok
                ? t("cfy.test.ok", { name: test.account.company || test.account.name || test.account.email || String(test.account.id) })
                : <>{t(test.code === "token_rejected" ? "cfy.test.rejected" : "cfy.test.unavailable")}
                    <span className="intg-test-detail">{test.message}</span></>}
            </span>
          )}
        </div>
        <label className="intg-check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          <span>{t("cfy.enabled")}</span>
        </label>
        {formError && <p className="form-error" role="alert">{formError}</p>}
        <div className="intg-actions">
          <button type="submit" className="primary" disabled={busy !== null || (!stored && !token.trim())}>
            {busy === "save" ? t("int.saving") : t("int.save")}
          </button>
          {saved && <span className="ok small" role="status">{t("int.saved")}</span>}
        </div>
      </form>
      {data.inbound_webhook_url && (
        <div className="intg-inbound">
          <span className="intg-label">{t("cfy.inbound")}</span>
          <div className="intg-inline">
            <code className="intg-code">{data.inbound_webhook_url}</code>
            <CopyButton text={data.inbound_webhook_url} label={`${t("int.copy")}: ${t("cfy.inbound")}`} />
          </div>
          <span className="muted small">{t("cfy.inbound.hint")}</span>
        </div>
      )}
    </section>
  );
}

function Health({ data, onRefresh }: { data: Clientify; onRefresh: () => void }) {
  const { t, lang } = useI18n();
  const h = data.health;
  const counts = data.leads ?? {};
  return (
    <section className="card intg-health" aria-labelledby="cfy-health-title">
      <div className="intg-card-head">
        <h2 id="cfy-health-title">{t("cfy.health")}</h2>
        <button type="button" className="ghost small" onClick={onRefresh}>{t("int.refresh")}</button>
      </div>
      <ul className="intg-counts">
        {(["synced", "pending", "failed", "erased"] as const).map((k) => (
          <li key={k} className={k} data-count={k}><strong>{counts[k] ?? 0}</strong><span>{t(`cfy.counts.${k}`)}</span></li>
        ))}
      </ul>
      <dl className="intg-facts">
        <div><dt>{t("cfy.health.lastSuccess")}</dt><dd>{when(lang, h.last_success, t)}</dd></div>
        <div><dt>{t("cfy.health.lastFailure")}</dt><dd>{when(lang, h.last_failure, t)}</dd></div>
        <div><dt>{t("cfy.health.failures")}</dt><dd>{h.consecutive_failures}</dd></div>
        <div>
          <dt>{t("cfy.health.breaker")}</dt>
          <dd><span className={`pill ${h.breaker.state === "closed" ? "synced" : "failed"}`}>{t(`cfy.breaker.${h.breaker.state}`)}</span></dd>
        </div>
        {h.last_error && <div className="wide"><dt>{t("cfy.health.lastError")}</dt><dd className="intg-error-text">{h.last_error}</dd></div>}
      </dl>
    </section>
  );
}

function DeadLetters({ letters, onChanged }: { letters: DeadLetter[]; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const [queued, setQueued] = useState<Set<string>>(new Set());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [announce, setAnnounce] = useState("");
  const follow = useRef<number | undefined>(undefined);

  useEffect(() => () => window.clearTimeout(follow.current), []);
  // A row that left the list was synced (or is syncing again): forget that it was queued.
  useEffect(() => {
    setQueued((set) => new Set([...set].filter((id) => letters.some((l) => l.lead === id))));
  }, [letters]);

  async function send(ids: string[]) {
    setQueued((set) => new Set([...set, ...ids]));
    const failed: Record<string, string> = {};
    for (const id of ids) {
      try {
        await resync(id);
      } catch (err) {
        failed[id] = err instanceof ApiError ? err.message : String(err);
      }
    }
    setErrors(failed);
    setQueued((set) => new Set([...set].filter((id) => !(id in failed))));
    setAnnounce(t("cfy.resync.done", { n: ids.length - Object.keys(failed).length }));
    // The sync takes a moment: look again shortly, then once more.
    window.clearTimeout(follow.current);
    follow.current = window.setTimeout(() => {
      onChanged();
      follow.current = window.setTimeout(onChanged, 4000);
    }, 1500);
  }

  return (
    <section className="card intg-dead" aria-labelledby="cfy-dead-title">
      <div className="intg-card-head">
        <h2 id="cfy-dead-title">{t("cfy.dead")}</h2>
        {letters.length > 1 && (
          <button type="button" className="secondary small" disabled={letters.every((l) => queued.has(l.lead))}
                  onClick={() => void send(letters.map((l) => l.lead))}>
            {t("cfy.resync.all", { n: letters.length })}
          </button>
        )}
      </div>
      <p className="muted small">{t("cfy.dead.hint")}</p>
      {letters.length === 0 ? <p className="intg-empty">{t("cfy.dead.empty")}</p> : (
        <ul className="intg-dead-list">
          {letters.map((l) => {
            const name = l.lead_name || t("cfy.dead.anonymous");
            return (
              <li key={l.lead} data-lead={l.lead}>
                <div className="intg-dead-main">
                  <Link to={pathOf("conversations", l.conversation)} className="intg-dead-name">{name}</Link>
                  <span className="intg-error-text">{l.last_error}</span>
                  <span className="muted small">
                    {t("cfy.dead.attempts")}: {l.attempts} · {t("cfy.dead.when")} {when(lang, l.dead_lettered_at, t)}
                  </span>
                  {errors[l.lead] && <span className="field-error" role="alert">{errors[l.lead]}</span>}
                </div>
                <button type="button" className="secondary small" disabled={queued.has(l.lead)}
                        aria-label={t("cfy.resync.label", { name })} onClick={() => void send([l.lead])}>
                  {queued.has(l.lead) ? t("cfy.resync.queued") : t("cfy.resync")}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <div className="sr-only" role="status" aria-live="polite">{announce}</div>
    </section>
  );
}
