/** /console/setup: the first-run checklist (issue 11). Branding → the site's
 * origin → install the widget → a test chat in a live preview → Clientify.
 * Each step is done inline; its state is the API's (GET agency/onboarding),
 * polled while the page is visible so a chat on the real site ticks it off. */
import { useCallback, useEffect, useState } from "react";

import { useI18n, type Key } from "../i18n";
import { Link, pathOf } from "../router";
import type { SectionProps } from "../sections";
import * as ss from "./selfservice.api";
import { BrandingForm, CopyBox, describe, OriginsEditor } from "./SelfServiceForms";

const POLL_MS = 4000;
const STEP_TEXT: Record<ss.StepId, { title: Key; body: Key }> = {
  branding: { title: "setup.branding", body: "setup.brandingBody" },
  origin: { title: "setup.origin", body: "setup.originBody" },
  install: { title: "setup.install", body: "setup.installBody" },
  test_chat: { title: "setup.testChat", body: "setup.testChatBody" },
  clientify: { title: "setup.clientify", body: "setup.clientifyBody" },
};

export function Setup(_props: SectionProps) {
  const { t } = useI18n();
  const [status, setStatus] = useState<ss.Onboarding | null>(null);
  const [agency, setAgency] = useState<ss.Agency | null>(null);
  const [keys, setKeys] = useState<ss.WidgetKey[] | null>(null);
  const [expanded, setExpanded] = useState<ss.StepId | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [previewVersion, setPreviewVersion] = useState(0);

  const refresh = useCallback(() => ss.getOnboarding().then((s) => { setStatus(s); setError(null); }, setError), []);
  useEffect(() => {
    void refresh();
    ss.getAgency().then(setAgency, setError);
    ss.listKeys().then(setKeys, () => setKeys([]));
    const timer = window.setInterval(() => { if (document.visibilityState === "visible") void refresh(); }, POLL_MS);
    const onFocus = () => void refresh();
    window.addEventListener("focus", onFocus);
    return () => { window.clearInterval(timer); window.removeEventListener("focus", onFocus); };
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  const next = status?.steps.find((s) => !s.done)?.id ?? null;
  // The next step to do starts open; after that the user decides (a step
  // turning done does not whisk its form away mid-edit). The first render
  // with a status already shows it open: a click landing before the effect
  // below would otherwise see it closed and, once the effect ran, close it.
  useEffect(() => {
    if (status && expanded === undefined) setExpanded(next);
  }, [status]); // eslint-disable-line react-hooks/exhaustive-deps
  const openStep = expanded === undefined ? next : expanded;
  const doneCount = status?.steps.filter((s) => s.done).length ?? 0;
  const total = status?.steps.length ?? 5;

  return (
    <main id="main" className="page setup" tabIndex={-1}>
      <div className="page-inner narrow">
        <div className="page-head">
          <div>
            <h1>{t("setup.title")}</h1>
            <p className="muted">{t("setup.subtitle")}</p>
          </div>
          {status && (
            <div className="setup-progress">
              <span className="setup-count">{t("setup.progress", { done: doneCount, total })}</span>
              <span className="progress big" aria-hidden="true"><span style={{ width: `${(doneCount / total) * 100}%` }} /></span>
            </div>
          )}
        </div>
        {error !== null && <p className="form-error" role="alert">{describe(t, error)}</p>}
        {status?.complete && (
          <section className="card setup-complete" aria-live="polite">
            <h2>{t("setup.completeTitle")}</h2>
            <p>{t("setup.completeBody")}</p>
            <p><Link to={pathOf("conversations")}>{t("setup.toConversations")}</Link></p>
          </section>
        )}
        {!status ? <div className="card"><p className="muted">{t("ss.loading")}</p></div> : (
          <ol className="steps">
            {status.steps.map((step, index) => {
              const isOpen = openStep === step.id;
              const text = STEP_TEXT[step.id];
              const bodyId = `step-${step.id}`;
              return (
                <li key={step.id} className={`step card${step.done ? " done" : ""}${step.id === next ? " next" : ""}${isOpen ? " open" : ""}`}
                    data-step={step.id} data-done={step.done ? "true" : "false"}>
                  <h2 className="step-head">
                    <button type="button" className="step-toggle" aria-expanded={isOpen} aria-controls={bodyId}
                            onClick={() => setExpanded(isOpen ? null : step.id)}>
                      <span className="step-mark" aria-hidden="true">{step.done ? "✓" : index + 1}</span>
                      <span className="step-title">{t(text.title)}</span>
                      <span className={`pill ${step.done ? "ready" : step.id === next ? "queued" : ""}`}>
                        {t(step.done ? "setup.done" : step.id === next ? "setup.next" : "setup.todo")}
                      </span>
                      <span className="chev" aria-hidden="true">▾</span>
                    </button>
                  </h2>
                  <div id={bodyId} className="step-body" hidden={!isOpen}>
                    <p className="muted">{t(text.body)}</p>
                    {isOpen && step.done && next && next !== step.id && (
                      <p className="step-continue">
                        <button type="button" className="secondary" onClick={() => {
                          setExpanded(next);
                          requestAnimationFrame(() => document.querySelector<HTMLElement>(`li[data-step="${next}"] .step-toggle`)?.focus());
                        }}>
                          {t("setup.continue", { step: t(STEP_TEXT[next].title) })}
                        </button>
                      </p>
                    )}
                    {isOpen && (
                      <StepContent id={step.id} status={status} agency={agency} keys={keys} previewVersion={previewVersion}
                                   onAgency={(a) => { setAgency(a); setPreviewVersion((v) => v + 1); void refresh(); }}
                                   onChanged={() => void refresh()}
                                   onRestartPreview={() => setPreviewVersion((v) => v + 1)} />
                    )}
                  </div>
                </li>
              );
            })}
          </ol>
        )}
      </div>
    </main>
  );
}

function StepContent({ id, status, agency, keys, previewVersion, onAgency, onChanged, onRestartPreview }: {
  id: ss.StepId; status: ss.Onboarding; agency: ss.Agency | null; keys: ss.WidgetKey[] | null; previewVersion: number;
  onAgency: (a: ss.Agency) => void; onChanged: () => void; onRestartPreview: () => void;
}) {
  const { t } = useI18n();
  switch (id) {
    case "branding":
      return agency ? <BrandingForm agency={agency} onSaved={onAgency} compact /> : <p className="muted">{t("ss.loading")}</p>;
    case "origin":
      return <OriginsEditor onChange={onChanged} />;
    case "install":
      return <Install status={status} keys={keys} />;
    case "test_chat":
      return <Preview status={status} version={previewVersion} onRestart={onRestartPreview} />;
    case "clientify":
      return (
        <p>
          <Link to={pathOf("integrations")} className="button-link">{t("setup.toIntegrations")}</Link>
        </p>
      );
  }
}

function Install({ status, keys }: { status: ss.Onboarding; keys: ss.WidgetKey[] | null }) {
  const { t } = useI18n();
  const [how, setHow] = useState<"html" | "wordpress">("html");
  const [chosen, setChosen] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const key = chosen ?? status.widget_key;
  if (!key) {
    return <p className="form-error">{t("setup.noKey")} <Link to={pathOf("settings", "widget")}>{t("setup.toKeys")}</Link></p>;
  }

  async function download() {
    setBusy(true);
    setError(null);
    try {
      await ss.downloadPlugin(key!);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="install">
      {keys && keys.length > 1 && (
        <div className="field">
          <label htmlFor="install-key">{t("setup.key")}</label>
          <select id="install-key" value={key} onChange={(e) => setChosen(e.target.value)}>
            {keys.map((k) => <option key={k.id} value={k.key}>{k.name ? `${k.name} · ${k.key}` : k.key}</option>)}
          </select>
        </div>
      )}
      <div className="segmented" role="group" aria-label={t("setup.how")}>
        <button type="button" aria-pressed={how === "html"} className={how === "html" ? "on" : ""} onClick={() => setHow("html")}>
          {t("setup.howHtml")}
        </button>
        <button type="button" aria-pressed={how === "wordpress"} className={how === "wordpress" ? "on" : ""}
                onClick={() => setHow("wordpress")}>
          {t("setup.howWordpress")}
        </button>
      </div>
      {how === "html" ? (
        <div className="install-how">
          <ol className="howto">
            <li>{t("setup.html1")}</li>
            <li>{t("setup.html2")}</li>
            <li>{t("setup.html3")}</li>
          </ol>
          <CopyBox text={ss.snippetFor(key, status.snippet)} label={t("setup.snippet")} />
        </div>
      ) : (
        <div className="install-how">
          <ol className="howto">
            <li>{t("setup.wp1")}</li>
            <li>{t("setup.wp2")}</li>
            <li>{t("setup.wp3")}</li>
          </ol>
          <p>
            <button type="button" className="primary" onClick={() => void download()} disabled={busy}>
              {t("setup.wpDownload")}
            </button>
          </p>
          {error !== null && <p className="form-error" role="alert">{describe(t, error)}</p>}
        </div>
      )}
      <p className="muted small">{t("setup.installWhen")}</p>
    </div>
  );
}

function Preview({ status, version, onRestart }: { status: ss.Onboarding; version: number; onRestart: () => void }) {
  const { t, lang } = useI18n();
  const key = status.widget_key;
  if (!key) return <p className="form-error">{t("setup.noKey")}</p>;
  return (
    <div className="preview">
      <iframe key={`${version}-${lang}`} src={ss.previewUrl(key, lang)} title={t("setup.previewTitle")} className="preview-frame" />
      <div className="preview-side">
        <p>{t("setup.previewHow")}</p>
        <p className="muted small">{t("setup.previewNote")}</p>
        <div className="form-actions">
          <button type="button" className="secondary" onClick={onRestart}>{t("setup.previewReload")}</button>
          <button type="button" className="ghost" onClick={() => { ss.forgetPreviewVisitor(key); onRestart(); }}>
            {t("setup.previewNew")}
          </button>
        </div>
      </div>
    </div>
  );
}
