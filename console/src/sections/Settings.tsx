/** /console/settings/<tab>: the agency's profile, branding, privacy policy,
 * lead scoring and the widget's keys and allowed origins (CONTRACT §5.1). */
import { useEffect, useState } from "react";

import { useI18n, type Key } from "../i18n";
import { Link, pathOf } from "../router";
import type { SectionProps } from "../sections";
import * as ss from "./selfservice.api";
import { BrandingForm, Confirm, CopyBox, describe, Field, fieldError, FormStatus, formatDate, OriginsEditor,
         useSubmit } from "./SelfServiceForms";

const TABS: { id: string; label: Key }[] = [
  { id: "general", label: "settings.tabGeneral" },
  { id: "branding", label: "settings.tabBranding" },
  { id: "privacy", label: "settings.tabPrivacy" },
  { id: "scoring", label: "settings.tabScoring" },
  { id: "widget", label: "settings.tabWidget" },
];

export function Settings({ rest }: SectionProps) {
  const { t } = useI18n();
  const tab = TABS.find((x) => x.id === rest[0])?.id ?? "general";
  const [agency, setAgency] = useState<ss.Agency | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    ss.getAgency().then(setAgency, setError);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <main id="main" className="page settings" tabIndex={-1}>
      <div className="page-inner">
        <div className="page-head">
          <div>
            <h1>{t("settings.title")}</h1>
            <p className="muted">{t("settings.subtitle")}</p>
          </div>
        </div>
        <nav className="subtabs" aria-label={t("settings.tabs")}>
          {TABS.map((x) => (
            <Link key={x.id} to={x.id === "general" ? pathOf("settings") : pathOf("settings", x.id)}
                  aria-current={x.id === tab ? "page" : undefined} className={x.id === tab ? "on" : ""}>
              {t(x.label)}
            </Link>
          ))}
        </nav>
        {error !== null && <p className="form-error" role="alert">{describe(t, error)}</p>}
        {tab === "widget" ? <WidgetTab /> : !agency ? <div className="card"><p className="muted">{t("ss.loading")}</p></div>
          : tab === "branding" ? (
            <section className="card" aria-labelledby="h-branding">
              <h2 id="h-branding">{t("settings.tabBranding")}</h2>
              <p className="muted">{t("settings.brandingIntro")}</p>
              <BrandingForm agency={agency} onSaved={setAgency} />
            </section>
          ) : tab === "privacy" ? <PrivacyForm key={agency.privacy_policy.version} agency={agency} onSaved={setAgency} />
          : tab === "scoring" ? <ScoringForm agency={agency} onSaved={setAgency} />
          : <GeneralForm agency={agency} onSaved={setAgency} />}
      </div>
    </main>
  );
}

function GeneralForm({ agency, onSaved }: { agency: ss.Agency; onSaved: (a: ss.Agency) => void }) {
  const { t } = useI18n();
  const [name, setName] = useState(agency.name);
  const [locale, setLocale] = useState(agency.locale);
  const [emails, setEmails] = useState(agency.notification_emails.join("\n"));
  const form = useSubmit();

  async function save(event: React.FormEvent) {
    event.preventDefault();
    const list = emails.split(/[\s,;]+/).map((e) => e.trim()).filter(Boolean);
    const saved = await form.run(() => ss.patchAgency({ name: name.trim(), locale, notification_emails: list }));
    if (saved) {
      onSaved(saved);
      setEmails(saved.notification_emails.join("\n"));
    }
  }

  // A list's errors come by position: {"notification_emails": {"1": ["…"]}}.
  const emailErrors = form.fields?.notification_emails;
  let emailError = fieldError(form.fields, "notification_emails");
  if (emailErrors && typeof emailErrors === "object" && !Array.isArray(emailErrors)) {
    const [index] = Object.keys(emailErrors);
    const list = emails.split(/[\s,;]+/).filter(Boolean);
    emailError = t("settings.emailBad", { email: list[Number(index)] ?? "", message: emailError ?? "" });
  }
  return (
    <section className="card" aria-labelledby="h-general">
      <h2 id="h-general">{t("settings.profile")}</h2>
      <form className="form-grid two" onSubmit={save} noValidate>
        <Field label={t("settings.name")} hint={t("settings.nameHint")} error={fieldError(form.fields, "name")}>
          {(p) => <input {...p} value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label={t("settings.locale")} hint={t("settings.localeHint")} error={fieldError(form.fields, "locale")}>
          {(p) => (
            <select {...p} value={locale} onChange={(e) => setLocale(e.target.value as "es" | "en")}>
              <option value="es">Español</option>
              <option value="en">English</option>
            </select>
          )}
        </Field>
        <Field className="span" label={t("settings.emails")} hint={t("settings.emailsHint")} error={emailError}>
          {(p) => (
            <textarea {...p} rows={3} value={emails} spellCheck={false} placeholder={t("settings.emailsPlaceholder")}
                      onChange={(e) => setEmails(e.target.value)} />
          )}
        </Field>
        <div className="form-actions span">
          <button type="submit" className="primary" disabled={form.busy || !name.trim()}>{t("ss.save")}</button>
          <FormStatus error={form.error} done={form.done} />
        </div>
      </form>
    </section>
  );
}

function PrivacyForm({ agency, onSaved }: { agency: ss.Agency; onSaved: (a: ss.Agency) => void }) {
  const { t } = useI18n();
  const [url, setUrl] = useState(agency.privacy_policy.url);
  const [version, setVersion] = useState(agency.privacy_policy.version);
  const form = useSubmit();
  const versionChanged = version.trim() !== agency.privacy_policy.version;

  async function save(event: React.FormEvent) {
    event.preventDefault();
    const saved = await form.run(() => ss.patchAgency({ privacy_policy: { url: url.trim(), version: version.trim() } }));
    if (saved) onSaved(saved);
  }

  return (
    <section className="card" aria-labelledby="h-privacy">
      <h2 id="h-privacy">{t("settings.privacy")}</h2>
      <p className="muted">{t("settings.privacyIntro")}</p>
      <form className="form-grid two" onSubmit={save} noValidate>
        <Field label={t("settings.policyUrl")} hint={t("settings.policyUrlHint")}
               error={fieldError(form.fields, "privacy_policy.url")}>
          {(p) => (
            <input {...p} type="url" inputMode="url" value={url} maxLength={500} placeholder={t("settings.policyPlaceholder")}
                   onChange={(e) => setUrl(e.target.value)} />
          )}
        </Field>
        <Field label={t("settings.policyVersion")} hint={t("settings.policyVersionHint")}
               error={fieldError(form.fields, "privacy_policy.version")}>
          {(p) => <input {...p} value={version} maxLength={32} className="mono" onChange={(e) => setVersion(e.target.value)} />}
        </Field>
        {versionChanged && (
          <p className="notice span" role="note">{t("settings.versionWarning", { from: agency.privacy_policy.version, to: version })}</p>
        )}
        <div className="form-actions span">
          <button type="submit" className="primary" disabled={form.busy}>{t("ss.save")}</button>
          <FormStatus error={form.error} done={form.done} />
        </div>
      </form>
    </section>
  );
}

const FACTORS: { id: keyof ss.Scoring; label: Key; hint: Key }[] = [
  { id: "budget", label: "settings.fBudget", hint: "settings.fBudgetHint" },
  { id: "timeline", label: "settings.fTimeline", hint: "settings.fTimelineHint" },
  { id: "fit", label: "settings.fFit", hint: "settings.fFitHint" },
  { id: "completeness", label: "settings.fCompleteness", hint: "settings.fCompletenessHint" },
];

function ScoringForm({ agency, onSaved }: { agency: ss.Agency; onSaved: (a: ss.Agency) => void }) {
  const { t } = useI18n();
  const [weights, setWeights] = useState<Record<string, string>>(
    Object.fromEntries(FACTORS.map((f) => [f.id, String(agency.scoring[f.id])])));
  const form = useSubmit();
  const numbers = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, Number(v)]));
  const total = Object.values(numbers).reduce((a, b) => a + (Number.isFinite(b) && b > 0 ? b : 0), 0);

  async function save(event: React.FormEvent) {
    event.preventDefault();
    // Sent as typed: the API says which value is out of range.
    const body = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, v.trim() === "" ? v : Number(v)]));
    const saved = await form.run(() => ss.patchAgency({ scoring: body as Partial<ss.Scoring> }));
    if (saved) onSaved(saved);
  }

  const all = form.fields?.scoring;
  const allError = Array.isArray(all) ? (all.includes("all_zero") ? t("settings.allZero") : String(all[0])) : undefined;
  return (
    <section className="card" aria-labelledby="h-scoring">
      <h2 id="h-scoring">{t("settings.scoring")}</h2>
      <p className="muted">{t("settings.scoringIntro")}</p>
      <form className="scoring" onSubmit={save} noValidate>
        {FACTORS.map((f) => {
          const share = total > 0 && numbers[f.id] > 0 ? Math.round((numbers[f.id] * 100) / total) : 0;
          return (
            <Field key={f.id} label={t(f.label)} hint={t(f.hint)} error={fieldError(form.fields, `scoring.${f.id}`)}
                   className="factor">
              {(p) => (
                <div className="factor-row">
                  <input type="range" min={0} max={100} step={1} value={Number.isFinite(numbers[f.id]) ? numbers[f.id] : 0}
                         tabIndex={-1} aria-hidden="true"
                         onChange={(e) => setWeights({ ...weights, [f.id]: e.target.value })} />
                  <input {...p} type="number" min={0} max={100} step={1} inputMode="numeric" value={weights[f.id]}
                         className="weight" onChange={(e) => setWeights({ ...weights, [f.id]: e.target.value })} />
                  <span className="share" aria-label={t("settings.share", { n: share })}>{share} %</span>
                </div>
              )}
            </Field>
          );
        })}
        {allError && <p className="field-error">{allError}</p>}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={form.busy}>{t("ss.save")}</button>
          <FormStatus error={form.error} done={form.done} />
        </div>
      </form>
    </section>
  );
}

function WidgetTab() {
  const { t, lang } = useI18n();
  const [keys, setKeys] = useState<ss.WidgetKey[] | null>(null);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<ss.WidgetKey | null>(null);
  const [revoking, setRevoking] = useState<ss.WidgetKey | null>(null);
  const [snippetOf, setSnippetOf] = useState<string | null>(null);
  const [template, setTemplate] = useState<string | null>(null);
  const form = useSubmit();
  const revoker = useSubmit();

  useEffect(() => {
    ss.listKeys().then(setKeys, form.fail);
    ss.getOnboarding().then((o) => setTemplate(o.snippet), () => undefined);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  async function create(event: React.FormEvent) {
    event.preventDefault();
    const key = await form.run(() => ss.createKey(name.trim()));
    if (key) {
      setKeys([...(keys ?? []), key]);
      setCreated(key);
      setName("");
    }
  }

  async function revoke(key: ss.WidgetKey) {
    setRevoking(null);
    const done = await revoker.run(async () => { await ss.revokeKey(key.id); return true; });
    if (done) {
      setKeys((keys ?? []).filter((k) => k.id !== key.id));
      if (created?.id === key.id) setCreated(null);
    }
  }

  return (
    <>
      <section className="card" aria-labelledby="h-keys">
        <h2 id="h-keys">{t("settings.keys")}</h2>
        <p className="muted">{t("settings.keysIntro")} <Link to={pathOf("setup")}>{t("settings.keysInstall")}</Link></p>
        {keys === null ? <p className="muted small">{t("ss.loading")}</p> : keys.length === 0 ? (
          <p className="notice">{t("settings.noKeys")}</p>
        ) : (
          <ul className="rows keys" aria-label={t("settings.keys")}>
            {keys.map((k) => (
              <li key={k.id} className={created?.id === k.id ? "fresh" : ""}>
                <div className="row-main">
                  <strong>{k.name || t("settings.unnamedKey")}</strong>
                  <span className="mono key">{k.key}</span>
                  <span className="muted small">{t("settings.created", { date: formatDate(lang, k.created) })}</span>
                  {snippetOf === k.id && <CopyBox text={ss.snippetFor(k.key, template)} label={t("setup.snippet")} />}
                </div>
                <div className="row-actions">
                  <button type="button" className="ghost small" aria-expanded={snippetOf === k.id}
                          onClick={() => setSnippetOf(snippetOf === k.id ? null : k.id)}>{t("settings.snippet")}</button>
                  <button type="button" className="ghost small danger" onClick={() => setRevoking(k)}
                          aria-label={t("settings.revokeNamed", { name: k.name || k.key })}>{t("settings.revoke")}</button>
                </div>
              </li>
            ))}
          </ul>
        )}
        {created && <p className="notice ok-notice" role="status">{t("settings.keyCreated", { key: created.key })}</p>}
        {revoker.error && <p className="form-error" role="alert">{revoker.error}</p>}
        <form className="inline-form" onSubmit={create} noValidate>
          <Field label={t("settings.keyName")} hint={t("settings.keyNameHint")} error={fieldError(form.fields, "name")}>
            {(p) => <input {...p} value={name} maxLength={100} placeholder={t("settings.keyNamePlaceholder")}
                           onChange={(e) => setName(e.target.value)} />}
          </Field>
          <button type="submit" className="secondary" disabled={form.busy}>{t("settings.createKey")}</button>
        </form>
        {form.error && !form.fields && <p className="form-error" role="alert">{form.error}</p>}
      </section>
      <section className="card" aria-labelledby="h-origins">
        <h2 id="h-origins">{t("settings.origins")}</h2>
        <p className="muted">{t("settings.originsIntro")}</p>
        <OriginsEditor />
      </section>
      <Confirm open={revoking !== null} title={t("settings.revokeTitle", { name: revoking?.name || revoking?.key || "" })}
               body={<p>{t("settings.revokeBody")}</p>} confirm={t("settings.revokeConfirm")}
               onCancel={() => setRevoking(null)} onConfirm={() => revoking && void revoke(revoking)} />
    </>
  );
}
