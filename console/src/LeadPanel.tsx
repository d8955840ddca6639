import { useEffect, useRef, useState } from "react";

import { getLead, type Lead } from "./api";
import { scoreBand, stepLabel } from "./ConversationList";
import { fieldLabel, useI18n, type Key, type Translate } from "./i18n";
import type { ConversationState } from "./store";

type Props = { conversation: string; leadId: string | null; state: ConversationState; resyncs: number };

const CHOICE = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

/** An answer as staff read it: money as euros a month, choice codes
 * ("servicios_locales") as words, lists joined. */
function answerText(t: Translate, field: string, value: unknown, lang: string): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? t("yes") : t("no");
  if (typeof value === "number" || (field === "budget_monthly" && !Number.isNaN(Number(value)))) {
    if (field === "budget_monthly") {
      const euros = new Intl.NumberFormat(lang, { style: "currency", currency: "EUR", maximumFractionDigits: 0 });
      return t("lead.perMonth", { amount: euros.format(Number(value)) });
    }
    return Number(value).toLocaleString(lang);
  }
  if (Array.isArray(value)) return value.map((v) => answerText(t, field, v, lang)).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value);
  if (CHOICE.test(text) && text.includes("_")) {
    const words = text.replace(/_/g, " ");
    return words[0].toUpperCase() + words.slice(1);
  }
  if (CHOICE.test(text) && !["email", "website", "phone", "name", "company"].includes(field)) {
    return text[0].toUpperCase() + text.slice(1);
  }
  return text;
}

// Leads already fetched, so reopening a conversation shows its lead at once.
const cache = new Map<string, Lead>();
export const forgetLeads = () => cache.clear();

export function LeadPanel({ leadId, state, resyncs }: Props) {
  const { t, lang } = useI18n();
  const [lead, setLead] = useState<Lead | null>(leadId ? cache.get(leadId) ?? null : null);
  const fetched = useRef<string | null>(null);

  // Fetched again whenever the flow moves or a strategy frame arrives (debounced: frames come in bursts).
  const strategyStatus = state.strategy?.status;
  useEffect(() => {
    if (!leadId) return;
    let live = true;
    const first = fetched.current !== leadId;
    fetched.current = leadId;
    const timer = window.setTimeout(() => {
      getLead(leadId).then((l) => {
        cache.set(leadId, l);
        if (live) setLead(l);
      }, () => undefined);
    }, first ? 0 : 300);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [leadId, state.qualificationSeq, strategyStatus, resyncs]);

  const answers = { ...(lead?.answers ?? {}), ...state.answers };
  const fields = Object.keys(answers).filter((f) => f !== "consent");
  const progress = Math.round((state.progress ?? 0) * 100);
  // The socket's strategy frame is newer than the lead fetched before it.
  const strategy = state.strategy ?? lead?.strategy ?? null;
  const crm = lead?.crm ?? null;
  const consent = lead?.consent;

  return (
    <section className="card lead" aria-labelledby="lead-title">
      <h3 id="lead-title">{t("lead.title")}</h3>
      {lead && (lead.name || lead.company || lead.email || lead.phone) && (
        <p className="lead-contact">
          {lead.name && <strong className="lead-name">{lead.name}</strong>}
          {lead.company && <span>{lead.company}</span>}
          {lead.email && <span>{lead.email}</span>}
          {lead.phone && <span>{lead.phone}</span>}
        </p>
      )}
      <div className="lead-progress">
        <span className="small muted">{t("lead.progress")} · {stepLabel(t, state.step) || "—"}</span>
        <span className="progress big" role="progressbar" aria-label={t("lead.progress")} aria-valuemin={0}
              aria-valuemax={100} aria-valuenow={progress}>
          <span style={{ width: `${progress}%` }} />
        </span>
      </div>

      <h4>{t("lead.score")}</h4>
      {lead?.score !== null && lead?.score !== undefined ? (
        <div className="score-block">
          <span className={`score big ${scoreBand(lead.score)}`} aria-label={`${t("lead.score")}: ${lead.score}/100`}>{lead.score}</span>
          <ul className="reasons">
            {lead.score_reasons.map((r) => (
              <li key={r.factor}>
                <span>{lang === "en" ? r.reason_en : r.reason_es}</span>
                <span className="muted small">{Math.round(r.points)}/{Math.round(r.max)}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="muted small">{t("lead.noScore")}</p>
      )}

      <h4>{t("lead.consent")}</h4>
      <p className={consent?.granted ? "ok small" : "muted small"}>
        {consent?.granted ? t("lead.consentGiven", { policy: consent.policy ?? "—" }) : t("lead.consentMissing")}
      </p>

      {strategy && (
        <>
          <h4>{t("lead.strategy")}</h4>
          <p className="small">
            <span className={`pill ${strategy.status}`} data-strategy={strategy.status}>
              {t((`strategy.${strategy.status}` in { "strategy.queued": 1, "strategy.generating": 1, "strategy.ready": 1, "strategy.failed": 1 }
                ? `strategy.${strategy.status}` : "strategy.queued") as Key)}
            </span>
            {strategy.status === "ready" && strategy.pdf_url && (
              <a className="pdf" href={strategy.pdf_url} target="_blank" rel="noopener noreferrer">{t("lead.strategyPdf")}</a>
            )}
          </p>
        </>
      )}

      {crm && (
        <>
          <h4>{t("lead.crm")}</h4>
          <p className="small">
            <span className={`pill ${crm.status}`} data-crm={crm.status}>
              {["pending", "synced", "failed", "erased"].includes(crm.status) ? t(`crm.${crm.status}` as Key) : crm.status}
            </span>
            {crm.last_error && <span className="crm-error">{crm.last_error}</span>}
          </p>
        </>
      )}

      <h4>{t("lead.answers")}</h4>
      {fields.length === 0 ? (
        <p className="muted small">{leadId ? t("lead.noAnswers") : t("lead.none")}</p>
      ) : (
        <dl className="answers">
          {fields.map((f) => (
            <div key={f}>
              <dt>{fieldLabel(t, f)}</dt>
              <dd>{answerText(t, f, answers[f], lang)}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
