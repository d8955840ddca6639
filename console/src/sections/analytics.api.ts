/** The analytics REST calls (CONTRACT §5.2) and the shapes they answer
 * (analytics/selectors.py builds them). */
import { api, apiBlob } from "../api";

export type RangeInfo = { from: string; to: string; timezone: string; flow_version: number | null; page?: string | null };

export type Funnel = {
  range: RangeInfo;
  stages: { stage: string; step?: string; count: number }[];
  drop_off: { step: string; reached: number; dropped: number; rate: number }[];
  // The range's source pages, busiest first: the choices of the page filter.
  pages?: { page: string; conversations: number }[];
};

export type Quality = {
  range: RangeInfo;
  qualified: number;
  average_score: number | null;
  score_distribution: { from: number; to: number; count: number }[];
  by_sector: { sector: string; count: number }[];
  by_budget_band: { band: string; count: number }[];
  by_timeline: { timeline: string; count: number }[];
  median_seconds_to_qualify: number | null;
};

export type Percentiles = { p50: number | null; p95: number | null };

export type UsageDay = {
  date: string;
  turns: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  conversations: number;
  first_token_ms: Percentiles;
  turn_ms: Percentiles;
};

export type Usage = {
  range: RangeInfo;
  currency: string;
  prices_per_million: { model: string; prompt: number; completion: number };
  totals: { prompt_tokens: number; completion_tokens: number; cost: number; leads: number; cost_per_lead: number | null };
  days: UsageDay[];
  per_lead: { lead: string; prompt_tokens: number; completion_tokens: number; cost: number }[];
};

export type Report = "funnel" | "quality" | "usage";

/** What the dashboard asks for: no dates means the API's default (the last 30 days). */
export type Filters = { from: string | null; to: string | null; flowVersion: number | null; page: string | null };

function query(filters: Filters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (filters.from) params.set("from", filters.from);
  if (filters.to) params.set("to", filters.to);
  if (filters.flowVersion !== null) params.set("flow_version", String(filters.flowVersion));
  if (filters.page) params.set("page", filters.page);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  const text = params.toString();
  return text ? "?" + text : "";
}

export type Dashboard = { funnel: Funnel; quality: Quality; usage: Usage };

export async function loadDashboard(filters: Filters, signal?: AbortSignal): Promise<Dashboard> {
  const q = query(filters);
  const [funnel, quality, usage] = await Promise.all([
    api<Funnel>(`analytics/funnel${q}`, { signal }),
    api<Quality>(`analytics/quality${q}`, { signal }),
    api<Usage>(`analytics/usage${q}`, { signal }),
  ]);
  return { funnel, quality, usage };
}

/** Fetches a report as CSV with the bearer token (a plain link could not send
 * it) and hands it to the browser as a download. */
export async function downloadCsv(report: Report, filters: Filters, range: RangeInfo | null): Promise<void> {
  const { blob, filename } = await apiBlob(`analytics/${report}${query(filters, { format: "csv" })}`);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = range ? `markezy-${report}-${range.from}-${range.to}.csv` : filename ?? `markezy-${report}.csv`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The click has started the download by now; give the browser a moment before freeing the blob.
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// --- The flows, for the version filter and the labels of choice answers -----------

export type FlowOverview = {
  id: string;
  name: string;
  current_version: string | null;
  versions: { id: string; number: number; status: string }[];
};

type Choice = { value: string; label?: Record<string, string> | string };
export type FlowVersionDetail = {
  id: string;
  number: number;
  definition: { questions?: { field: string; choices?: Choice[]; label?: Record<string, string> | string }[] };
};

export const listFlows = () => api<FlowOverview>("flows/");
export const getFlowVersion = (id: string) => api<FlowVersionDetail>(`flows/versions/${encodeURIComponent(id)}/`);

/** `{field: {value: label}}` for the choice questions of a flow version, in `lang`. */
export function choiceLabels(version: FlowVersionDetail | null, lang: string): Record<string, Record<string, string>> {
  const labels: Record<string, Record<string, string>> = {};
  for (const question of version?.definition.questions ?? []) {
    if (!question.choices) continue;
    labels[question.field] = {};
    for (const choice of question.choices) {
      const label = choice.label;
      labels[question.field][choice.value] =
        typeof label === "string" ? label : label?.[lang] ?? label?.es ?? choice.value;
    }
  }
  return labels;
}
