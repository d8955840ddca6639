/** The flows REST (CONTRACT §5 `flows/`, docs/contract-extensions.md) as the
 * flow editor uses it: versions, drafts, publish, diff and the draft preview. */
import { ApiError, api, auth } from "../api";

export type I18nText = { es: string; en?: string };
export type Choice = { value: string; label: I18nText; synonyms?: string[] };
export type Validation = { min?: number; max?: number; min_length?: number; max_length?: number; pattern?: string };
export type QuestionType = "text" | "choice" | "multichoice" | "number" | "money" | "email" | "phone" | "url" | "consent";
export type Question = {
  field: string;
  type: QuestionType;
  prompt: I18nText;
  help?: I18nText;
  required?: boolean;
  choices?: Choice[];
  validation?: Validation;
};
export type Op = "eq" | "ne" | "in" | "not_in" | "lt" | "lte" | "gt" | "gte" | "answered" | "not_answered";
export type SimpleCondition = { field: string; op: Op; value?: unknown };
export type Condition = SimpleCondition | { all: Condition[] } | { any: Condition[] };
export type SkipRule = { field: string; when: Condition };
export type Branch = { after: string; when: Condition; goto: string };
export type Definition = {
  version_label?: string;
  locale?: "es" | "en";
  questions: Question[];
  skip?: SkipRule[];
  branches?: Branch[];
};

export type Person = { id: string; name: string } | null;
export type VersionSummary = {
  id: string;
  number: number;
  status: "draft" | "published" | "archived";
  created: string;
  published_at: string | null;
  created_by: Person;
  published_by: Person;
};
export type Version = VersionSummary & { definition: Definition };
export type FlowOverview = { id: string; name: string; current_version: string | null; versions: VersionSummary[] };
export type Diff = {
  version: string;
  against: string;
  added: Question[];
  removed: Question[];
  changed: { field: string; keys: string[]; before: Question; after: Question }[];
  reordered: boolean;
  rules_changed: boolean;
};
/** The preview endpoint's answer: a widget session (CONTRACT §3) on that version. */
export type PreviewSession = {
  conversation: string;
  visitor_token: string;
  ws_url: string;
  config: Record<string, unknown>;
  resumed: boolean;
  preview: true;
  flow_version: VersionSummary;
  preview_url: string;
};

/** A 400 naming the paths it refuses (`questions/3/prompt/es` → messages). */
export class FieldErrors extends ApiError {
  constructor(message: string, public fields: Record<string, string[]>) {
    super(400, "validation_error", message);
  }
}

/** Like api(), but a validation error keeps its `fields` so the editor can put
 * each message next to the input it names. */
async function write<T>(path: string, method: string, body?: unknown): Promise<T> {
  const call = (token: string | null) =>
    fetch("/api/v1/" + path, {
      method,
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let response = await call(await auth.fresh());
  if (response.status === 401) {
    const token = await auth.refresh();
    if (token === null) throw new ApiError(401, "unauthenticated", "Session expired");
    response = await call(token);
  }
  if (response.ok) return response.json();
  let payload: { error?: { code?: string; message?: string; fields?: Record<string, string[]> } } = {};
  try {
    payload = await response.json();
  } catch {
    // Not JSON: the status line says it.
  }
  const error = payload.error ?? {};
  if (response.status === 400 && error.fields) throw new FieldErrors(error.message ?? "", error.fields);
  throw new ApiError(response.status, error.code ?? `http_${response.status}`, error.message ?? response.statusText);
}

export const getFlows = () => api<FlowOverview>("flows/");
export const getVersion = (id: string) => api<Version>(`flows/versions/${encodeURIComponent(id)}/`);
export const createDraft = (definition: Definition) => write<Version>("flows/drafts/", "POST", { definition });
export const saveDraft = (id: string, definition: Definition) =>
  write<Version>(`flows/versions/${encodeURIComponent(id)}/`, "PUT", { definition });
export const publishVersion = (id: string) => write<Version>(`flows/versions/${encodeURIComponent(id)}/publish/`, "POST");
export const getDiff = (id: string, against: string) =>
  api<Diff>(`flows/versions/${encodeURIComponent(id)}/diff/?against=${encodeURIComponent(against)}`);
export const startPreview = (id: string, locale: "es" | "en") =>
  write<PreviewSession>(`flows/versions/${encodeURIComponent(id)}/preview/`, "POST", { locale });
