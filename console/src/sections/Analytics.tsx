/** /console/analytics: the agency's funnel, lead quality and LLM usage
 * (CONTRACT §5.2) for a period and flow version, as charts with their numbers
 * as tables, and each report as CSV. Loaded on demand (AnalyticsSection.tsx),
 * so Chart.js costs nothing to the rest of the console. */
import type { ChartConfiguration } from "chart.js";
import { useEffect, useMemo, useState } from "react";

import { fieldLabel, useI18n, type Lang, type Translate } from "../i18n";
import type { SectionProps } from "../sections";
import { ChartCard, COLORS, reducedMotion, VALUE_LABELS, type Table } from "./AnalyticsChart";
import {
  choiceLabels,
  type Dashboard,
  downloadCsv,
  type Filters,
  type FlowOverview,
  type FlowVersionDetail,
  getFlowVersion,
  listFlows,
  loadDashboard,
  type Report,
  type UsageDay,
} from "./analytics.api";
import "./Analytics.css";

type Preset = 7 | 30 | 90 | "custom";
const PRESETS: Preset[] = [7, 30, 90];
const DEFAULT_TZ = "Europe/Madrid";
const MAX_DAYS = 366;

// --- dates: the API's days are calendar days of the agency's time zone -------------

function todayIn(tz: string): string {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}

function addDays(iso: string, days: number): string {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(to + "T00:00:00Z") - Date.parse(from + "T00:00:00Z")) / 86_400_000);
}

function everyDay(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to && days.length <= MAX_DAYS; day = addDays(day, 1)) days.push(day);
  return days;
}

// --- numbers in the chosen language ---------------------------------------------------

type Formats = ReturnType<typeof formats>;

function formats(lang: Lang, currency: string, t: Translate) {
  const number = new Intl.NumberFormat(lang);
  const percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  const oneDecimal = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const day = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", timeZone: "UTC" });
  const longDay = new Intl.DateTimeFormat(lang, { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const weekday = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
  const moneyFormats = {
    whole: new Intl.NumberFormat(lang, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    cents: new Intl.NumberFormat(lang, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 4 }),
    tiny: new Intl.NumberFormat(lang, { style: "currency", currency, maximumSignificantDigits: 2 }),
  };
  const toDate = (iso: string) => new Date(iso + "T12:00:00Z");
  return {
    number: (n: number) => number.format(n),
    percent: (n: number) => percent.format(n),
    // LLM costs are fractions of a cent per turn: show their significant digits.
    money: (n: number) => (n === 0 || Math.abs(n) >= 1 ? moneyFormats.whole
      : Math.abs(n) >= 0.01 ? moneyFormats.cents : moneyFormats.tiny).format(n),
    ms: (n: number | null) => n === null ? "—"
      : n >= 1000 ? t("analytics.s", { n: oneDecimal.format(n / 1000) }) : t("analytics.ms", { n: number.format(n) }),
    duration: (seconds: number | null) => seconds === null ? "—"
      : seconds < 60 ? t("analytics.s", { n: number.format(Math.round(seconds)) })
      : seconds < 3600 ? t("analytics.min", { n: oneDecimal.format(seconds / 60) })
      : t("analytics.h", { n: oneDecimal.format(seconds / 3600) }),
    day: (iso: string) => day.format(toDate(iso)),
    weekday: (iso: string) => weekday.format(toDate(iso)),
    longDay: (iso: string) => longDay.format(toDate(iso)),
  };
}

function bandLabel(band: string, f: Formats, t: Translate): string {
  const euros = (n: string) => `${f.number(Number(n))} €`;
  if (band === "unknown") return t("analytics.unknown");
  if (band.startsWith("<")) return `< ${euros(band.slice(1))}`;
  if (band.endsWith("+")) return `≥ ${euros(band.slice(0, -1))}`;
  const [low, high] = band.split("-");
  return `${f.number(Number(low))}–${euros(high)}`;
}

function stageLabel(stage: { stage: string; step?: string }, t: Translate): string {
  if (stage.step) return fieldLabel(t, stage.step);
  return t(`analytics.stage.${stage.stage}` as Parameters<Translate>[0]);
}

// --- the charts' configurations ---------------------------------------------------------

const motion = () => (reducedMotion() ? false as const : { duration: 450 });

function horizontalBars(labels: string[], data: number[], valueLabels: string[], color: string, tooltip: (i: number) => string,
                        scale: { max?: number; tick?: (value: number) => string } = {}): ChartConfiguration<"bar"> {
  return {
    type: "bar",
    data: { labels, datasets: [{ data, backgroundColor: color, borderRadius: 4, maxBarThickness: 26,
                                 valueLabels } as never] },
    options: {
      indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: motion(),
      layout: { padding: { right: 96 } },
      scales: {
        x: { beginAtZero: true, max: scale.max, grid: { color: "#f1f2f6" },
             ticks: { precision: 0, ...(scale.tick ? { callback: (value: string | number) => scale.tick!(Number(value)) } : {}) } },
        y: { grid: { display: false }, ticks: { color: "#374151", autoSkip: false } },
      },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => tooltip(item.dataIndex) } } },
    },
    plugins: [VALUE_LABELS],
  };
}

function verticalBars(labels: string[], data: number[], color: string, format: (n: number) => string): ChartConfiguration<"bar"> {
  return {
    type: "bar",
    data: { labels, datasets: [{ data, backgroundColor: color, borderRadius: 4, maxBarThickness: 44,
                                 valueLabels: data.map((n) => (n ? format(n) : "")) } as never] },
    options: {
      responsive: true, maintainAspectRatio: false, animation: motion(), layout: { padding: { top: 18 } },
      scales: {
        x: { grid: { display: false }, ticks: { color: "#374151" } },
        y: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: "#f1f2f6" } },
      },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => format(item.parsed.y ?? 0) } } },
    },
    plugins: [VALUE_LABELS],
  };
}

function summaryOf(t: Translate, title: string, items: string[]): string {
  return t("analytics.summary", { title, items: items.join("; ") });
}

// --- the screen ---------------------------------------------------------------------------

type Load =
  | { status: "loading"; data: Dashboard | null }
  | { status: "ready"; data: Dashboard }
  | { status: "error"; data: Dashboard | null; message: string };

export default function Analytics(_props: SectionProps) {
  const { t, lang } = useI18n();
  const [preset, setPreset] = useState<Preset>(30);
  const [custom, setCustom] = useState({ from: "", to: "" });
  const [filters, setFilters] = useState<Filters>({ from: null, to: null, flowVersion: null, page: null });
  // The page choices stay those of the unfiltered range while a page is chosen.
  const [pages, setPages] = useState<{ page: string; conversations: number }[]>([]);
  const [load, setLoad] = useState<Load>({ status: "loading", data: null });
  const [attempt, setAttempt] = useState(0);
  const [flows, setFlows] = useState<FlowOverview | null>(null);
  const [flowDetail, setFlowDetail] = useState<FlowVersionDetail | null>(null);
  const [downloading, setDownloading] = useState<Report | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setLoad((previous) => ({ status: "loading", data: previous.data }));
    loadDashboard(filters, controller.signal).then(
      (data) => { setLoad({ status: "ready", data }); setPages(data.funnel.pages ?? []); },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setLoad((previous) => ({ status: "error", data: previous.data, message: err instanceof Error ? err.message : String(err) }));
      },
    );
    return () => controller.abort();
  }, [filters, attempt]);

  useEffect(() => {
    listFlows().then(setFlows, () => setFlows(null));
  }, []);

  // Sector and timeline answers are stored as choice values: the flow says how to name them.
  const labelVersion = filters.flowVersion !== null
    ? flows?.versions.find((v) => v.number === filters.flowVersion)?.id ?? null
    : flows?.current_version ?? flows?.versions[0]?.id ?? null;
  useEffect(() => {
    if (!labelVersion) return;
    getFlowVersion(labelVersion).then(setFlowDetail, () => setFlowDetail(null));
  }, [labelVersion]);
  const choices = useMemo(() => choiceLabels(flowDetail, lang), [flowDetail, lang]);

  const data = load.data;
  const tz = data?.funnel.range.timezone ?? DEFAULT_TZ;
  const currency = data?.usage.currency || "EUR";
  const f = useMemo(() => formats(lang, currency, t), [lang, currency, t]);

  function choosePreset(next: Preset) {
    setPreset(next);
    if (next === "custom") {
      if (data) setCustom({ from: data.funnel.range.from, to: data.funnel.range.to });
      return;
    }
    const to = todayIn(tz);
    setFilters((current) => ({ ...current, from: addDays(to, -(next - 1)), to }));
  }

  const customInvalid = preset === "custom" && !!custom.from && !!custom.to
    && (custom.from > custom.to || daysBetween(custom.from, custom.to) > MAX_DAYS);
  function changeCustom(next: { from: string; to: string }) {
    setCustom(next);
    if (next.from && next.to && next.from <= next.to && daysBetween(next.from, next.to) <= MAX_DAYS) {
      setFilters((current) => ({ ...current, from: next.from, to: next.to }));
    }
  }

  async function download(report: Report) {
    setDownloading(report);
    setDownloadError(null);
    try {
      await downloadCsv(report, filters, data?.funnel.range ?? null);
    } catch (err) {
      setDownloadError(t("analytics.downloadFailed", { message: err instanceof Error ? err.message : String(err) }));
    } finally {
      setDownloading(null);
    }
  }

  const range = data?.funnel.range;
  const empty = !!data && data.funnel.stages.every((s) => s.count === 0) && data.usage.days.length === 0;

  return (
    <main id="main" className="page analytics" tabIndex={-1}>
      <div className="page-inner">
        <div className="page-head">
          <div>
            <h1>{t("analytics.title")}</h1>
            <p className="muted">{t("analytics.subtitle")}</p>
          </div>
        </div>

        <section className="card analytics-controls" aria-label={t("analytics.range")}>
          <div className="control">
            <span className="control-label" id="analytics-range-label">{t("analytics.range")}</span>
            <div className="segmented" role="group" aria-labelledby="analytics-range-label">
              {PRESETS.map((p) => (
                <button key={p} type="button" aria-pressed={preset === p} className={preset === p ? "on" : ""}
                        onClick={() => choosePreset(p)}>
                  {t(p === 7 ? "analytics.last7" : p === 30 ? "analytics.last30" : "analytics.last90")}
                </button>
              ))}
              <button type="button" aria-pressed={preset === "custom"} className={preset === "custom" ? "on" : ""}
                      onClick={() => choosePreset("custom")}>
                {t("analytics.custom")}
              </button>
            </div>
          </div>
          {preset === "custom" && (
            <div className="control dates">
              <label>
                <span className="control-label">{t("analytics.from")}</span>
                <input type="date" value={custom.from} max={custom.to || undefined} aria-invalid={customInvalid}
                       onChange={(e) => changeCustom({ ...custom, from: e.target.value })} />
              </label>
              <label>
                <span className="control-label">{t("analytics.to")}</span>
                <input type="date" value={custom.to} min={custom.from || undefined} aria-invalid={customInvalid}
                       onChange={(e) => changeCustom({ ...custom, to: e.target.value })} />
              </label>
            </div>
          )}
          <label className="control">
            <span className="control-label">{t("analytics.flowVersion")}</span>
            <select value={filters.flowVersion ?? ""}
                    onChange={(e) => setFilters((current) => ({ ...current,
                      flowVersion: e.target.value === "" ? null : Number(e.target.value) }))}>
              <option value="">{t("analytics.allVersions")}</option>
              {flows?.versions.filter((v) => v.status !== "draft").map((v) => (
                <option key={v.id} value={v.number}>
                  {t(v.id === flows.current_version ? "analytics.versionCurrent" : "analytics.version", { n: v.number })}
                </option>
              ))}
            </select>
          </label>
          <label className="control">
            <span className="control-label">{t("analytics.page")}</span>
            <select value={filters.page ?? ""} data-filter="page"
                    onChange={(e) => setFilters((current) => ({ ...current, page: e.target.value || null }))}>
              <option value="">{t("analytics.allPages")}</option>
              {filters.page && !pages.some((p) => p.page === filters.page) && (
                <option value={filters.page}>{pageLabel(filters.page)}</option>
              )}
              {pages.map((p) => (
                <option key={p.page} value={p.page} title={p.page}>
                  {t("analytics.pageOption", { page: pageLabel(p.page), n: f.number(p.conversations) })}
                </option>
              ))}
            </select>
          </label>
          <span className="spacer" />
          <div className="control">
            <span className="control-label" id="analytics-csv-label">{t("analytics.download")}</span>
            <div className="csv-buttons" role="group" aria-labelledby="analytics-csv-label">
              {(["funnel", "quality", "usage"] as Report[]).map((report) => (
                <button key={report} type="button" className="secondary small" data-csv={report}
                        disabled={downloading !== null} onClick={() => void download(report)}>
                  <svg viewBox="0 0 20 20" aria-hidden="true" focusable="false">
                    <path d="M10 3v9m0 0-3.5-3.5M10 12l3.5-3.5M4 15h12" fill="none" stroke="currentColor" strokeWidth="1.8"
                          strokeLinecap="round" strokeLinejoin="round" />
                  </svg>
                  {downloading === report ? t("analytics.downloading")
                    : t(report === "funnel" ? "analytics.csvFunnel" : report === "quality" ? "analytics.csvQuality" : "analytics.csvUsage")}
                </button>
              ))}
            </div>
          </div>
          {customInvalid && <p className="form-error control-wide" role="alert">{t("analytics.rangeInvalid")}</p>}
          {downloadError && <p className="form-error control-wide" role="alert">{downloadError}</p>}
        </section>

        <div className="analytics-status" role="status" aria-live="polite">
          {load.status === "loading" ? <span className="loading-line"><span className="spinner" aria-hidden="true" />{t("analytics.loading")}</span>
            : range ? <span className="muted small" data-range={`${range.from}/${range.to}`}>
              {t("analytics.showing", { from: f.longDay(range.from), to: f.longDay(range.to), tz: range.timezone })}</span>
            : null}
        </div>

        {load.status === "error" && (
          <div className="alert error analytics-error" role="alert">
            <span>{t("analytics.error", { message: load.message })}</span>
            <button type="button" className="secondary small" onClick={() => setAttempt((n) => n + 1)}>{t("analytics.retry")}</button>
          </div>
        )}

        {!data ? (
          load.status === "loading" && <Skeleton />
        ) : empty ? (
          <div className="card analytics-empty">
            <svg viewBox="0 0 48 48" aria-hidden="true" focusable="false">
              <rect x="6" y="26" width="8" height="14" rx="2" fill="#c7d2fe" />
              <rect x="20" y="18" width="8" height="22" rx="2" fill="#a5b4fc" />
              <rect x="34" y="10" width="8" height="30" rx="2" fill="#818cf8" />
            </svg>
            <h2>{t("analytics.emptyTitle")}</h2>
            <p className="muted">{t("analytics.empty")}</p>
          </div>
        ) : (
          <div className={load.status === "loading" ? "analytics-body busy" : "analytics-body"}
               aria-busy={load.status === "loading"}>
            <Kpis data={data} f={f} />
            <Charts data={data} f={f} choices={choices} />
          </div>
        )}
      </div>
    </main>
  );
}

function Skeleton() {
  return (
    <div className="analytics-body skeleton" aria-hidden="true">
      <div className="kpis">{[0, 1, 2, 3, 4].map((i) => <div key={i} className="card kpi"><span /><span /></div>)}</div>
      <div className="charts">{[0, 1, 2, 3].map((i) => <div key={i} className="card chart-card"><span /></div>)}</div>
    </div>
  );
}

function Kpis({ data, f }: { data: Dashboard; f: Formats }) {
  const { t } = useI18n();
  const count = (stage: string) => data.funnel.stages.find((s) => s.stage === stage)?.count ?? 0;
  const leads = count("conversations");
  const qualified = count("qualified");
  const rate = leads ? qualified / leads : null;
  const costPerLead = data.usage.totals.cost_per_lead;
  const tiles = [
    { id: "leads", label: t("analytics.kpi.leads"), value: f.number(leads), raw: leads, hint: t("analytics.kpi.leadsHint") },
    { id: "qualified", label: t("analytics.kpi.qualified"), value: f.number(qualified), raw: qualified,
      hint: t("analytics.kpi.qualifiedHint") },
    { id: "rate", label: t("analytics.kpi.rate"), value: rate === null ? "—" : f.percent(rate), raw: rate,
      hint: t("analytics.kpi.rateHint") },
    { id: "median", label: t("analytics.kpi.median"), value: f.duration(data.quality.median_seconds_to_qualify),
      raw: data.quality.median_seconds_to_qualify, hint: t("analytics.kpi.medianHint") },
    { id: "cost_per_lead", label: t("analytics.kpi.costPerLead"), value: costPerLead === null ? "—" : f.money(costPerLead),
      raw: costPerLead, hint: t("analytics.kpi.costHint", { cost: f.money(data.usage.totals.cost), n: f.number(data.usage.totals.leads) }) },
  ];
  return (
    <section aria-label={t("analytics.kpis")}>
      <dl className="kpis">
        {tiles.map((tile) => (
          <div key={tile.id} className="card kpi" data-kpi={tile.id} data-value={tile.raw ?? ""}>
            <dt>{tile.label}</dt>
            <dd>
              <span className="kpi-value">{tile.value}</span>
              <span className="kpi-hint muted">{tile.hint}</span>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** Leads by sector, budget band or timeline: a bar each, with its share of the qualified leads. */
function breakdown(id: "sector" | "budget" | "timeline", quality: Dashboard["quality"], f: Formats, t: Translate,
                 choices: Record<string, Record<string, string>>) {
  const items = id === "sector" ? quality.by_sector.map((s) => ({ key: s.sector, count: s.count,
                                                                  label: s.sector === "unknown" ? t("analytics.unknown") : choices.sector?.[s.sector] ?? s.sector }))
    : id === "timeline" ? quality.by_timeline.map((s) => ({ key: s.timeline, count: s.count,
                                                            label: s.timeline === "unknown" ? t("analytics.unknown") : choices.timeline?.[s.timeline] ?? s.timeline }))
    : quality.by_budget_band.map((b) => ({ key: b.band, count: b.count, label: bandLabel(b.band, f, t) }));
  const total = items.reduce((sum, item) => sum + item.count, 0);
  const title = t(id === "sector" ? "analytics.sector" : id === "timeline" ? "analytics.timeline" : "analytics.budget");
  const share = (n: number) => (total ? n / total : 0);
  const column = t(id === "sector" ? "analytics.col.sector" : id === "timeline" ? "analytics.col.timeline" : "analytics.col.band");
  return {
    title,
    config: id === "budget"
      ? verticalBars(items.map((i) => i.label), items.map((i) => i.count), COLORS.amber, f.number)
      : horizontalBars(items.map((i) => i.label), items.map((i) => i.count),
        items.map((i) => `${f.number(i.count)} · ${f.percent(share(i.count))}`), id === "sector" ? COLORS.brand : COLORS.teal,
        (index) => `${f.number(items[index].count)} (${f.percent(share(items[index].count))})`),
    table: { columns: [column, t("analytics.col.count"), t("analytics.col.share")],
             rows: items.map((i) => [{ text: i.label, value: i.key }, { text: f.number(i.count), value: i.count },
                                     { text: f.percent(share(i.count)), value: share(i.count) }]) },
    summary: summaryOf(t, title, items.filter((i) => i.count).map((i) => `${i.label} ${f.number(i.count)}`)),
    height: id === "budget" ? 240 : Math.max(140, 50 + items.length * 30),
    empty: total === 0,
  };
}

function Charts({ data, f, choices }: { data: Dashboard; f: Formats; choices: Record<string, Record<string, string>> }) {
  const { t } = useI18n();
  const { funnel, quality, usage } = data;

  const funnelChart = useMemo(() => {
    const sessions = funnel.stages[0]?.count ?? 0;
    const labels = funnel.stages.map((s) => stageLabel(s, t));
    const conversion = funnel.stages.map((s) => (sessions ? s.count / sessions : 0));
    const table: Table = {
      columns: [t("analytics.col.stage"), t("analytics.col.count"), t("analytics.col.conversion"), t("analytics.col.fromPrevious")],
      rows: funnel.stages.map((s, i) => {
        const previous = i > 0 ? funnel.stages[i - 1].count : null;
        return [
          { text: labels[i], value: s.stage },
          { text: f.number(s.count), value: s.count },
          { text: f.percent(conversion[i]), value: conversion[i] },
          previous === null ? { text: "—", value: null } : { text: previous ? f.percent(s.count / previous) : "—",
                                                 value: previous ? s.count / previous : null },
        ];
      }),
    };
    return {
      config: horizontalBars(labels, funnel.stages.map((s) => s.count),
        funnel.stages.map((s, i) => `${f.number(s.count)} · ${f.percent(conversion[i])}`), COLORS.brand,
        (i) => `${f.number(funnel.stages[i].count)} (${f.percent(conversion[i])})`),
      table,
      summary: summaryOf(t, t("analytics.funnel"), funnel.stages.map((s, i) => `${labels[i]} ${f.number(s.count)} (${f.percent(conversion[i])})`)),
      height: 60 + funnel.stages.length * 28,
      empty: sessions === 0,
    };
  }, [funnel, f, t]);

  const dropChart = useMemo(() => {
    const labels = funnel.drop_off.map((d) => fieldLabel(t, d.step));
    const table: Table = {
      columns: [t("analytics.col.step"), t("analytics.col.reached"), t("analytics.col.dropped"), t("analytics.col.rate")],
      rows: funnel.drop_off.map((d, i) => [
        { text: labels[i], value: d.step }, { text: f.number(d.reached), value: d.reached },
        { text: f.number(d.dropped), value: d.dropped }, { text: f.percent(d.rate), value: d.rate },
      ]),
    };
    return {
      config: horizontalBars(labels, funnel.drop_off.map((d) => d.rate * 100),
        funnel.drop_off.map((d) => (d.reached ? `${f.percent(d.rate)} (${f.number(d.dropped)}/${f.number(d.reached)})` : "")),
        COLORS.rose, (i) => `${f.percent(funnel.drop_off[i].rate)} · ${f.number(funnel.drop_off[i].dropped)} / ${f.number(funnel.drop_off[i].reached)}`,
        { max: 100, tick: (value) => f.percent(value / 100) }),
      table,
      summary: summaryOf(t, t("analytics.dropOff"), funnel.drop_off.map((d, i) => `${labels[i]} ${f.percent(d.rate)} (${d.dropped}/${d.reached})`)),
      height: 60 + funnel.drop_off.length * 28,
      empty: funnel.drop_off.every((d) => d.reached === 0),
    };
  }, [funnel, f, t]);

  const scoreChart = useMemo(() => {
    const labels = quality.score_distribution.map((b) => `${b.from}–${b.to}`);
    const counts = quality.score_distribution.map((b) => b.count);
    return {
      config: verticalBars(labels, counts, COLORS.teal, f.number),
      table: { columns: [t("analytics.col.score"), t("analytics.col.count")],
               rows: quality.score_distribution.map((b, i) => [{ text: labels[i], value: `${b.from}-${b.to}` },
                                                               { text: f.number(b.count), value: b.count }]) },
      summary: summaryOf(t, t("analytics.scores"), quality.score_distribution.filter((b) => b.count)
        .map((b) => `${b.from}–${b.to}: ${f.number(b.count)}`)),
      empty: counts.every((n) => n === 0),
    };
  }, [quality, f, t]);

  const sector = useMemo(() => breakdown("sector", quality, f, t, choices), [quality, f, t, choices]);
  const budget = useMemo(() => breakdown("budget", quality, f, t, choices), [quality, f, t, choices]);
  const timeline = useMemo(() => breakdown("timeline", quality, f, t, choices), [quality, f, t, choices]);

  // Time series: every day of the period on the axis, days without turns as gaps.
  const series = useMemo(() => {
    const byDay = new Map<string, UsageDay>(usage.days.map((d) => [d.date, d]));
    const days = everyDay(usage.range.from, usage.range.to);
    // A dot on the days that had turns (not on the zeros in between), none when the axis is crowded.
    const points = days.map((day) => (byDay.has(day) && days.length <= 45 ? 3 : 0));
    return { days, byDay, labels: days.map(f.day), points };
  }, [usage, f]);

  const costChart = useMemo((): { config: ChartConfiguration<"bar" | "line">; table: Table; summary: string; empty: boolean } => {
    const { days, byDay, labels, points } = series;
    const pick = (fn: (d: UsageDay) => number) => days.map((day) => (byDay.has(day) ? fn(byDay.get(day)!) : 0));
    return {
      config: {
        type: "bar",
        data: {
          labels,
          datasets: [
            { type: "bar", label: t("analytics.col.prompt"), data: pick((d) => d.prompt_tokens), backgroundColor: COLORS.brand,
              stack: "tokens", yAxisID: "y", borderRadius: 3, maxBarThickness: 28 },
            { type: "bar", label: t("analytics.col.completion"), data: pick((d) => d.completion_tokens), backgroundColor: COLORS.brandSoft,
              stack: "tokens", yAxisID: "y", borderRadius: 3, maxBarThickness: 28 },
            { type: "line", label: t("analytics.series.cost"), data: pick((d) => d.cost), borderColor: COLORS.amber,
              backgroundColor: COLORS.amber, yAxisID: "cost", cubicInterpolationMode: "monotone", pointRadius: points, borderWidth: 2 },
          ],
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: motion(), interaction: { mode: "index", intersect: false },
          scales: {
            x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: { stacked: true, beginAtZero: true, title: { display: true, text: t("analytics.series.tokens") },
                 ticks: { callback: (v) => f.number(Number(v)) }, grid: { color: "#f1f2f6" } },
            cost: { position: "right", beginAtZero: true, title: { display: true, text: `${t("analytics.series.cost")} (${usage.currency})` },
                    ticks: { callback: (v) => f.money(Number(v)) }, grid: { display: false } },
          },
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 8, boxHeight: 8, usePointStyle: true, padding: 14 } },
            tooltip: { callbacks: {
              title: (items) => f.weekday(days[items[0].dataIndex]),
              label: (item) => `${item.dataset.label}: ${item.dataset.yAxisID === "cost" ? f.money(Number(item.raw)) : f.number(Number(item.raw))}`,
            } },
          },
        },
      },
      table: {
        columns: [t("analytics.col.day"), t("analytics.col.turns"), t("analytics.col.prompt"), t("analytics.col.completion"), t("analytics.col.cost")],
        rows: usage.days.map((d) => [
          { text: f.weekday(d.date), value: d.date }, { text: f.number(d.turns), value: d.turns },
          { text: f.number(d.prompt_tokens), value: d.prompt_tokens }, { text: f.number(d.completion_tokens), value: d.completion_tokens },
          { text: f.money(d.cost), value: d.cost },
        ]),
      },
      summary: summaryOf(t, t("analytics.cost"), usage.days.map((d) =>
        `${f.day(d.date)}: ${f.number(d.prompt_tokens + d.completion_tokens)} ${t("analytics.series.tokens").toLowerCase()}, ${f.money(d.cost)}`)),
      empty: usage.days.length === 0,
    };
  }, [series, usage, f, t]);

  const latencyChart = useMemo((): { config: ChartConfiguration<"line">; table: Table; summary: string; empty: boolean } => {
    const { days, byDay, labels, points } = series;
    const pick = (fn: (d: UsageDay) => number | null) => days.map((day) => (byDay.has(day) ? fn(byDay.get(day)!) : null));
    const line = (label: string, data: (number | null)[], color: string, dashed: boolean) => ({
      label, data, borderColor: color, backgroundColor: color, borderDash: dashed ? [6, 4] : [], cubicInterpolationMode: "monotone" as const,
      spanGaps: true, pointRadius: points, borderWidth: 2,
    });
    return {
      config: {
        type: "line",
        data: {
          labels,
          datasets: [
            line(t("analytics.col.ttft50"), pick((d) => d.first_token_ms.p50), COLORS.teal, false),
            line(t("analytics.col.ttft95"), pick((d) => d.first_token_ms.p95), COLORS.tealSoft, true),
            line(t("analytics.col.turn50"), pick((d) => d.turn_ms.p50), COLORS.brand, false),
            line(t("analytics.col.turn95"), pick((d) => d.turn_ms.p95), COLORS.brandMid, true),
          ],
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: motion(), interaction: { mode: "index", intersect: false },
          scales: {
            x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: { beginAtZero: true, ticks: { callback: (v) => f.ms(Number(v)) }, grid: { color: "#f1f2f6" } },
          },
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 8, boxHeight: 8, usePointStyle: true, padding: 14 } },
            tooltip: { callbacks: {
              title: (items) => f.weekday(days[items[0].dataIndex]),
              label: (item) => `${item.dataset.label}: ${f.ms(item.raw === null ? null : Number(item.raw))}`,
            } },
          },
        },
      },
      table: {
        columns: [t("analytics.col.day"), t("analytics.col.ttft50"), t("analytics.col.ttft95"), t("analytics.col.turn50"), t("analytics.col.turn95")],
        rows: usage.days.map((d) => [
          { text: f.weekday(d.date), value: d.date },
          { text: f.ms(d.first_token_ms.p50), value: d.first_token_ms.p50 }, { text: f.ms(d.first_token_ms.p95), value: d.first_token_ms.p95 },
          { text: f.ms(d.turn_ms.p50), value: d.turn_ms.p50 }, { text: f.ms(d.turn_ms.p95), value: d.turn_ms.p95 },
        ]),
      },
      summary: summaryOf(t, t("analytics.latency"), usage.days.map((d) =>
        `${f.day(d.date)}: ${t("analytics.col.ttft50")} ${f.ms(d.first_token_ms.p50)}, ${t("analytics.col.turn95")} ${f.ms(d.turn_ms.p95)}`)),
      empty: usage.days.every((d) => d.turn_ms.p50 === null && d.first_token_ms.p50 === null),
    };
  }, [series, usage, f, t]);

  const prices = usage.prices_per_million;
  return (
    <div className="charts">
      <ChartCard id="funnel" title={t("analytics.funnel")} hint={t("analytics.funnelHint")} {...funnelChart} />
      <ChartCard id="drop_off" title={t("analytics.dropOff")} hint={t("analytics.dropOffHint")} {...dropChart} />
      <ChartCard id="scores" title={t("analytics.scores")}
                 hint={t("analytics.scoresHint", { avg: quality.average_score === null ? "—" : f.number(quality.average_score) })}
                 height={240} {...scoreChart} />
      <ChartCard id="sector" {...sector} />
      <ChartCard id="budget" {...budget} />
      <ChartCard id="timeline" {...timeline} />
      <ChartCard id="cost" wide title={t("analytics.cost")}
                 hint={t("analytics.costHint", { model: prices.model, prompt: f.money(prices.prompt), completion: f.money(prices.completion) })}
                 height={280} {...costChart} />
      <ChartCard id="latency" wide title={t("analytics.latency")} hint={t("analytics.latencyHint")} height={280} {...latencyChart} />
    </div>
  );
}

/** A source page as a person reads it: the path, with the host when it is the site's root. */
function pageLabel(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname === "/" ? parsed.host : parsed.pathname;
  } catch {
    return url;
  }
}
