/** Outbound webhooks (CONTRACT §7): endpoints, their one-time secrets, and each
 * endpoint's delivery log with replay. */
import { useCallback, useEffect, useId, useRef, useState } from "react";

import { ApiError, FieldsError, firstFieldMessage } from "../api";
import { useI18n } from "../i18n";
import { Link, pathOf } from "../router";
import {
  createEndpoint, deleteEndpoint, EVENT_TYPES, getEndpoint, listDeliveries, listEndpoints, replayDelivery,
  rotateSecret, updateEndpoint, type Delivery, type Endpoint, type EventType,
} from "./integrations.api";
import { CopyButton, errorText, when } from "./IntegrationsShared";

type Secret = { endpoint: string; url: string; secret: string; rotated: boolean };

export function Webhooks({ endpointId }: { endpointId: string | null }) {
  return endpointId ? <EndpointLog id={endpointId} /> : <EndpointList />;
}

function EndpointList() {
  const { t } = useI18n();
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<Secret | null>(null);

  const load = useCallback(() => {
    listEndpoints().then((r) => { setEndpoints(r.results); setError(null); }, (e) => setError(errorText(t, e)));
  }, [t]);
  useEffect(load, [load]);

  const replace = (e: Endpoint) => setEndpoints((list) => list?.map((x) => (x.id === e.id ? { ...e, secret: undefined } : x)) ?? list);

  return (
    <div className="intg-grid">
      {secret && <SecretPanel secret={secret} onDone={() => setSecret(null)} />}
      <section className="card intg-webhooks" aria-labelledby="wh-title">
        <div className="intg-card-head">
          <h2 id="wh-title">{t("wh.title")}</h2>
        </div>
        <p className="muted small">{t("wh.hint")}</p>
        {error && <p className="form-error" role="alert">{error}</p>}
        {endpoints === null ? (!error && <p className="muted">{t("int.loading")}</p>)
          : endpoints.length === 0 ? <p className="intg-empty">{t("wh.empty")}</p> : (
            <ul className="intg-endpoints">
              {endpoints.map((e) => (
                <EndpointRow key={e.id} endpoint={e} onChanged={replace}
                             onDeleted={() => setEndpoints((list) => list?.filter((x) => x.id !== e.id) ?? list)}
                             onSecret={(s) => setSecret({ endpoint: e.id, url: e.url, secret: s, rotated: true })} />
              ))}
            </ul>
          )}
      </section>
      <NewEndpoint onCreated={(e) => {
        setEndpoints((list) => [...(list ?? []), { ...e, secret: undefined }]);
        if (e.secret) setSecret({ endpoint: e.id, url: e.url, secret: e.secret, rotated: false });
      }} />
    </div>
  );
}

/** The secret, this once: it is kept only in this component's state and gone when dismissed. */
function SecretPanel({ secret, onDone }: { secret: Secret; onDone: () => void }) {
  const { t } = useI18n();
  const ref = useRef<HTMLElement>(null);
  useEffect(() => ref.current?.focus(), [secret]);
  return (
    <section ref={ref} tabIndex={-1} className="card intg-secret" aria-labelledby="wh-secret-title" role="alert"
             data-secret-for={secret.endpoint}>
      <h2 id="wh-secret-title">{t("wh.secret.title")}</h2>
      <p className="intg-secret-url small">{secret.url}</p>
      <div className="intg-inline">
        <code className="intg-code intg-secret-value" data-testid="webhook-secret">{secret.secret}</code>
        <CopyButton text={secret.secret} label={`${t("int.copy")}: ${t("wh.secret.title")}`} />
      </div>
      <p className="intg-warning">
        <strong>{t("wh.secret.once")}</strong>
        {secret.rotated && <> {t("wh.secret.rotated")}</>}
      </p>
      <div>
        <button type="button" className="primary" onClick={onDone}>{t("wh.secret.done")}</button>
      </div>
    </section>
  );
}

function EventPills({ types }: { types: EventType[] }) {
  const { t } = useI18n();
  if (types.length === 0 || types.length === EVENT_TYPES.length) {
    return <span className="intg-event all">{t("wh.events.all")}</span>;
  }
  return <>{types.map((e) => <span key={e} className="intg-event" title={e}>{t(`wh.event.${e}`)}</span>)}</>;
}

function EndpointRow({ endpoint, onChanged, onDeleted, onSecret }: {
  endpoint: Endpoint; onChanged: (e: Endpoint) => void; onDeleted: () => void; onSecret: (secret: string) => void;
}) {
  const { t } = useI18n();
  const [confirm, setConfirm] = useState<"rotate" | "delete" | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const yes = useRef<HTMLButtonElement>(null);
  const rotateRef = useRef<HTMLButtonElement>(null);
  const deleteRef = useRef<HTMLButtonElement>(null);
  useEffect(() => { if (confirm) yes.current?.focus(); }, [confirm]);

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(errorText(t, e));
    } finally {
      setBusy(false);
    }
  }

  const cancel = () => {
    const back = confirm === "rotate" ? rotateRef : deleteRef;
    setConfirm(null);
    requestAnimationFrame(() => back.current?.focus());
  };

  return (
    <li className={`intg-endpoint${endpoint.active ? "" : " inactive"}`} data-endpoint={endpoint.id}>
      <div className="intg-endpoint-main">
        <span className="intg-endpoint-url">{endpoint.url}</span>
        {endpoint.description && <span className="muted small">{endpoint.description}</span>}
        <span className="intg-events"><EventPills types={endpoint.event_types} /></span>
      </div>
      <div className="intg-endpoint-actions">
        <button type="button" role="switch" aria-checked={endpoint.active} className={`intg-switch${endpoint.active ? " on" : ""}`}
                aria-label={t(endpoint.active ? "wh.toggle.off" : "wh.toggle.on", { url: endpoint.url })}
                // Not `disabled` while saving: a disabled button drops the keyboard focus.
                aria-disabled={busy || undefined}
                onClick={() => {
                  if (!busy) void run(async () => onChanged(await updateEndpoint(endpoint.id, { active: !endpoint.active })));
                }}>
          <span className="intg-switch-knob" aria-hidden="true" />
          <span className="intg-switch-text">{t(endpoint.active ? "wh.active" : "wh.inactive")}</span>
        </button>
        <Link to={pathOf("integrations", "webhooks", endpoint.id)} className="intg-link-button">{t("wh.deliveries")}</Link>
        <button ref={rotateRef} type="button" className="secondary small" disabled={busy || confirm !== null}
                onClick={() => setConfirm("rotate")}>{t("wh.rotate")}</button>
        <button ref={deleteRef} type="button" className="ghost small intg-delete" disabled={busy || confirm !== null}
                aria-label={`${t("wh.delete")}: ${endpoint.url}`} onClick={() => setConfirm("delete")}>{t("wh.delete")}</button>
      </div>
      {confirm && (
        <div className={`intg-confirm ${confirm}`} role="group" aria-label={t(confirm === "rotate" ? "wh.rotate.confirm" : "wh.delete.confirm")}>
          <span>{t(confirm === "rotate" ? "wh.rotate.confirm" : "wh.delete.confirm")}</span>
          <button ref={yes} type="button" className={confirm === "delete" ? "danger small" : "primary small"} disabled={busy}
                  onClick={() => void run(async () => {
                    if (confirm === "rotate") {
                      const rotated = await rotateSecret(endpoint.id);
                      setConfirm(null);
                      if (rotated.secret) onSecret(rotated.secret);
                    } else {
                      await deleteEndpoint(endpoint.id);
                      onDeleted();
                    }
                  })}>
            {t(confirm === "rotate" ? "wh.rotate.yes" : "wh.delete.yes")}
          </button>
          <button type="button" className="ghost small" disabled={busy} onClick={cancel}>{t("int.cancel")}</button>
        </div>
      )}
      {error && <p className="field-error" role="alert">{error}</p>}
    </li>
  );
}

function NewEndpoint({ onCreated }: { onCreated: (e: Endpoint) => void }) {
  const { t } = useI18n();
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [events, setEvents] = useState<Set<EventType>>(new Set());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const base = useId();
  const id = (s: string) => `${base}-${s}`;
  const form = useRef<HTMLFormElement>(null);
  const focusInvalid = useRef(false);
  // After a refusal, the keyboard lands on the first field that has an error (once rendered).
  useEffect(() => {
    if (!focusInvalid.current) return;
    focusInvalid.current = false;
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [errors]);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      const created = await createEndpoint({ url: url.trim(), description: description.trim(),
                                             event_types: EVENT_TYPES.filter((e) => events.has(e)) });
      setUrl("");
      setDescription("");
      setEvents(new Set());
      onCreated(created);
    } catch (e) {
      if (e instanceof FieldsError && Object.keys(e.fields).length) {
        const found = Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k.split(".")[0], firstFieldMessage(v) ?? ""]));
        // The API's reasons are in Spanish; the URL's, the one a person gets wrong, in the console's language.
        if (found.url) found.url = t("wh.url.invalid");
        setErrors(found);
        focusInvalid.current = true;
      } else {
        setFormError(errorText(t, e));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card intg-new" aria-labelledby={id("title")}>
      <h2 id={id("title")}>{t("wh.new")}</h2>
      <form ref={form} className="intg-form" onSubmit={submit} noValidate>
        <div className="intg-row2">
          <div className="intg-field">
            <label htmlFor={id("url")}>{t("wh.url")}</label>
            <input id={id("url")} type="url" inputMode="url" value={url} placeholder="https://" required
                   aria-invalid={errors.url ? true : undefined}
                   aria-describedby={[id("url-hint"), errors.url ? id("url-err") : ""].filter(Boolean).join(" ")}
                   onChange={(e) => setUrl(e.target.value)} />
            <span className="muted small" id={id("url-hint")}>{t("wh.url.hint")}</span>
            {errors.url && <span className="field-error" id={id("url-err")} role="alert">{errors.url}</span>}
          </div>
          <div className="intg-field">
            <label htmlFor={id("desc")}>{t("wh.description")}</label>
            <input id={id("desc")} type="text" value={description} maxLength={200}
                   aria-invalid={errors.description ? true : undefined}
                   onChange={(e) => setDescription(e.target.value)} />
            {errors.description && <span className="field-error" role="alert">{errors.description}</span>}
          </div>
        </div>
        <fieldset className="intg-fieldset" aria-describedby={id("events-hint")}>
          <legend>{t("wh.events")}</legend>
          <div className="intg-event-choices">
            {EVENT_TYPES.map((e) => (
              <label key={e} className="intg-check">
                <input type="checkbox" checked={events.has(e)} aria-invalid={errors.event_types ? true : undefined}
                       onChange={(ev) => setEvents((set) => {
                         const next = new Set(set);
                         if (ev.target.checked) next.add(e); else next.delete(e);
                         return next;
                       })} />
                <span>{t(`wh.event.${e}`)} <code className="muted">{e}</code></span>
              </label>
            ))}
          </div>
          <span className="muted small" id={id("events-hint")}>{t("wh.events.hint")}</span>
          {errors.event_types && <span className="field-error" role="alert">{errors.event_types}</span>}
        </fieldset>
        {formError && <p className="form-error" role="alert">{formError}</p>}
        <div className="intg-actions">
          <button type="submit" className="primary" disabled={busy || !url.trim()}>{busy ? t("wh.creating") : t("wh.create")}</button>
        </div>
      </form>
    </section>
  );
}

function EndpointLog({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const [endpoint, setEndpoint] = useState<Endpoint | null>(null);
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const [retrying, setRetrying] = useState<Set<string>>(new Set());
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [announce, setAnnounce] = useState("");

  const load = useCallback(async () => {
    try {
      const [e, d] = await Promise.all([getEndpoint(id), listDeliveries(id)]);
      setEndpoint(e);
      setDeliveries(d.results);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setMissing(true);
      else setError(errorText(t, e));
    }
  }, [id, t]);
  useEffect(() => { void load(); }, [load]);

  const pending = (deliveries ?? []).some((d) => d.status === "pending") || retrying.size > 0;
  useEffect(() => {
    // Every 3 s while something is on its way, and a slow 15 s otherwise so new events show up.
    const timer = window.setTimeout(() => {
      if (document.visibilityState === "visible") void load();
    }, pending ? 3000 : 15_000);
    return () => window.clearTimeout(timer);
  }, [pending, deliveries, load]);

  async function retry(d: Delivery) {
    setRetrying((s) => new Set(s).add(d.id));
    setRowErrors((r) => ({ ...r, [d.id]: "" }));
    try {
      const updated = await replayDelivery(id, d.id);
      setDeliveries((list) => list?.map((x) => (x.id === d.id ? updated : x)) ?? list);
      setAnnounce(t("wh.retry.queued"));
    } catch (e) {
      setRowErrors((r) => ({ ...r, [d.id]: errorText(t, e) }));
    } finally {
      setRetrying((s) => { const n = new Set(s); n.delete(d.id); return n; });
    }
  }

  if (missing) {
    return (
      <section className="card">
        <p>{t("wh.notFound")}</p>
        <Link to={pathOf("integrations", "webhooks")}>{t("wh.back")}</Link>
      </section>
    );
  }
  return (
    <section className="card intg-log" aria-labelledby="wh-log-title">
      <Link to={pathOf("integrations", "webhooks")} className="intg-back">← {t("wh.back")}</Link>
      <div className="intg-card-head">
        <h2 id="wh-log-title">{t("wh.log")}</h2>
        {pending && <span className="intg-live small" role="status"><span className="dot" aria-hidden="true" />{t("wh.log.live")}</span>}
        <button type="button" className="ghost small" onClick={() => void load()}>{t("int.refresh")}</button>
      </div>
      {endpoint && (
        <p className="intg-log-endpoint">
          <span className="intg-endpoint-url">{endpoint.url}</span>
          <span className="intg-events"><EventPills types={endpoint.event_types} /></span>
        </p>
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
      {deliveries === null ? (!error && <p className="muted">{t("int.loading")}</p>)
        : deliveries.length === 0 ? <p className="intg-empty">{t("wh.log.empty")}</p> : (
          <table className="intg-table">
            <thead>
              <tr>
                <th scope="col">{t("wh.log.event")}</th>
                <th scope="col">{t("wh.log.status")}</th>
                <th scope="col" className="num">{t("wh.log.code")}</th>
                <th scope="col" className="num">{t("wh.log.attempts")}</th>
                <th scope="col">{t("wh.log.when")}</th>
                <th scope="col"><span className="sr-only">{t("wh.retry")}</span></th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id} data-delivery={d.id} data-status={d.status}>
                  <td>
                    <span className="intg-delivery-type">{t(`wh.event.${d.type}`)}</span>
                    <code className="muted small">{d.type}</code>
                  </td>
                  <td>
                    <span className={`pill ${d.status === "delivered" ? "synced" : d.status === "dead" ? "failed" : "pending"}`}>
                      {t(`wh.status.${d.status}`)}
                    </span>
                    {d.last_error && d.status !== "delivered" && <span className="intg-error-text small">{d.last_error}</span>}
                    {d.status === "pending" && d.next_attempt_at && (
                      <span className="muted small">{t("wh.log.next", { when: when(lang, d.next_attempt_at, t) })}</span>
                    )}
                  </td>
                  <td className="num" data-code={d.response_code ?? ""}>{d.response_code ?? "—"}</td>
                  <td className="num" data-attempts={d.attempts}>{d.attempts}</td>
                  <td className="muted small">{when(lang, d.last_attempt_at, t)}</td>
                  <td className="intg-cell-action">
                    <button type="button" className="secondary small" disabled={retrying.has(d.id)}
                            aria-label={t("wh.retry.label", { event: `${t(`wh.event.${d.type}`)} · ${when(lang, d.created, t)}` })}
                            onClick={() => void retry(d)}>
                      {t("wh.retry")}
                    </button>
                    {rowErrors[d.id] && <span className="field-error" role="alert">{rowErrors[d.id]}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      <div className="sr-only" role="status" aria-live="polite">{announce}</div>
    </section>
  );
}
