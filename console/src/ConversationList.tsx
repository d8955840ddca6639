import { useEffect, useMemo, useState } from "react";

import { listConversations, type Summary } from "./api";
import { fieldLabel, useI18n, type Key } from "./i18n";
import { useStore } from "./store";

const STATUSES = ["", "open", "qualified", "declined", "closed"] as const;

export function scoreBand(score: number | null): "hot" | "warm" | "cold" {
  if (score === null) return "cold";
  return score >= 70 ? "hot" : score >= 40 ? "warm" : "cold";
}

export function relativeTime(iso: string | null | undefined, lang: string): string {
  if (!iso) return "";
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" });
  const abs = Math.abs(seconds);
  if (abs < 10) return rtf.format(0, "second");
  if (abs < 60) return rtf.format(seconds, "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

export function stepLabel(t: ReturnType<typeof useI18n>["t"], step: string | null | undefined): string {
  if (!step) return "";
  return step === "done" ? t("step.done") : fieldLabel(t, step);
}

type Props = { openId: string | null; onOpen: (id: string) => void; resyncs: number };

export function ConversationList({ openId, onOpen, resyncs }: Props) {
  const { t, lang } = useI18n();
  const store = useStore();
  const [status, setStatus] = useState("");
  const [query, setQuery] = useState("");
  const [searched, setSearched] = useState<{ q: string; ids: string[] } | null>(null);
  const [, tick] = useState(0);

  // The list as the server has it now; live updates are merged by the store.
  const [next, setNext] = useState<string | null>(null);
  useEffect(() => {
    listConversations({ status: status || undefined }).then((page) => {
      store.mergeSummaries(page.results);
      setNext(page.next);
    }, () => undefined);
  }, [status, resyncs, store]);
  const loadMore = () => {
    listConversations({ next }).then((page) => {
      store.mergeSummaries(page.results);
      setNext(page.next);
    }, () => undefined);
  };

  // Full-text search goes to the server (it searches every turn, not just the previews).
  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setSearched(null);
      return;
    }
    const timer = window.setTimeout(() => {
      listConversations({ q, status: status || undefined }).then((page) => {
        store.mergeSummaries(page.results);
        setSearched({ q, ids: page.results.map((s) => s.id) });
      }, () => setSearched({ q, ids: [] }));
    }, 250);
    return () => window.clearTimeout(timer);
  }, [query, status, resyncs, store]);

  // Relative times stay fresh.
  useEffect(() => {
    const timer = window.setInterval(() => tick((n) => n + 1), 30_000);
    return () => window.clearInterval(timer);
  }, []);

  const version = store.getVersion();
  const items = useMemo(() => {
    let list: Summary[];
    if (searched) list = searched.ids.map((id) => store.summaries.get(id)).filter((s): s is Summary => Boolean(s));
    else list = [...store.summaries.values()];
    if (status) list = list.filter((s) => s.status === status);
    return list.sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
  }, [store, version, searched, status]);

  return (
    <aside className="list" aria-labelledby="list-title">
      <div className="list-head">
        <h1 id="list-title">{t("list.title")}</h1>
        <div className="search">
          <label className="sr-only" htmlFor="search">{t("list.search")}</label>
          <svg viewBox="0 0 20 20" aria-hidden="true"><path d="M8.5 3a5.5 5.5 0 0 1 4.38 8.83l3.65 3.64-1.06 1.06-3.64-3.65A5.5 5.5 0 1 1 8.5 3Zm0 1.5a4 4 0 1 0 0 8 4 4 0 0 0 0-8Z" fill="currentColor" /></svg>
          <input id="search" type="search" placeholder={t("list.searchPlaceholder")} value={query}
                 onChange={(e) => setQuery(e.target.value)} />
        </div>
        <div className="filters" role="group" aria-label={t("list.filter")}>
          {STATUSES.map((s) => (
            <button key={s || "all"} type="button" aria-pressed={status === s}
                    className={status === s ? "chip on" : "chip"} onClick={() => setStatus(s)}>
              {t((s ? `status.${s}` : "status.all") as Key)}
            </button>
          ))}
        </div>
        {searched && <p className="muted small" role="status">{t("list.results", { n: items.length })}</p>}
      </div>
      <ul className="items">
        {items.length === 0 && <li className="list-empty muted">{searched ? t("list.noResults") : t("list.empty")}</li>}
        {items.map((s) => {
          const unread = store.unread.get(s.id) ?? 0;
          const percent = Math.round((s.progress ?? 0) * 100);
          return (
            <li key={s.id}>
              <a href={`/console/c/${s.id}`} className={s.id === openId ? "item current" : "item"}
                 aria-current={s.id === openId ? "page" : undefined} data-conversation={s.id}
                 onClick={(e) => {
                   if (e.metaKey || e.ctrlKey || e.shiftKey) return;
                   e.preventDefault();
                   onOpen(s.id);
                 }}>
                <span className="item-top">
                  <span className="item-name">{s.lead_name || t("list.anonymous")}</span>
                  {unread > 0 && <span className="badge" aria-label={t("list.unread", { n: unread })}>{unread}</span>}
                  <time className="item-time" dateTime={s.updated_at}>{relativeTime(s.last_message?.at ?? s.updated_at, lang)}</time>
                </span>
                <span className="item-last">
                  {s.last_message ? s.last_message.text : "—"}
                </span>
                <span className="item-meta">
                  <span className={`status ${s.status}`}>{t(`status.${s.status}` as Key)}</span>
                  {s.owner.kind === "staff" && <span className="owner-tag">{s.owner.name || t("role.agent")}</span>}
                  <span className="step">{stepLabel(t, s.step)}</span>
                  {s.score !== null && <span className={`score ${scoreBand(s.score)}`}>{s.score}</span>}
                </span>
                <span className="progress" role="progressbar" aria-label={t("lead.progress")} aria-valuemin={0}
                      aria-valuemax={100} aria-valuenow={percent}>
                  <span style={{ width: `${percent}%` }} />
                </span>
              </a>
            </li>
          );
        })}
        {next && !searched && (
          <li className="more"><button type="button" className="ghost small" onClick={loadMore}>{t("list.more")}</button></li>
        )}
      </ul>
    </aside>
  );
}
