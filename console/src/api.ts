/** Staff authentication (CONTRACT §2) and the REST calls the console makes.
 *
 * The access token lives only in memory; the refresh token is kept in
 * sessionStorage so a reload of the tab stays signed in while closing the tab
 * forgets it. Refresh tokens are single use (a second use revokes the whole
 * family), so every refresh goes through one in-flight promise.
 */

const REFRESH_KEY = "mkz.refresh";
// Refresh this long before the access token expires.
const EARLY_MS = 60_000;

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

export type Pair = { access: string; refresh: string; agency: string };
type Listener = () => void;

function expiresAt(jwt: string): number {
  try {
    const payload = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.exp === "number" ? payload.exp * 1000 : Date.now() + 5 * 60_000;
  } catch {
    return Date.now() + 5 * 60_000;
  }
}

export async function errorFrom(response: Response): Promise<ApiError> {
  let code = "http_" + response.status;
  let message = response.statusText || "Error";
  try {
    const body = await response.json();
    if (body?.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

class Auth {
  private access: string | null = null;
  private accessExp = 0;
  private refreshing: Promise<string | null> | null = null;
  private timer: number | undefined;
  private listeners = new Set<Listener>();

  get signedIn(): boolean {
    return this.access !== null;
  }

  get token(): string | null {
    return this.access;
  }

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }

  private store(pair: Pair): void {
    this.access = pair.access;
    this.accessExp = expiresAt(pair.access);
    try {
      sessionStorage.setItem(REFRESH_KEY, pair.refresh);
    } catch {
      // Without storage a reload signs out; the session still works.
    }
    window.clearTimeout(this.timer);
    const wait = Math.max(this.accessExp - Date.now() - EARLY_MS, 5_000);
    this.timer = window.setTimeout(() => void this.refresh(), wait);
    this.emit();
  }

  private clear(): void {
    this.access = null;
    this.accessExp = 0;
    window.clearTimeout(this.timer);
    try {
      sessionStorage.removeItem(REFRESH_KEY);
    } catch {
      // Nothing stored.
    }
    this.emit();
  }

  /** Sign in with a pair another endpoint answered (an accepted invitation). */
  adopt(pair: Pair): void {
    this.store(pair);
  }

  async login(email: string, password: string): Promise<void> {
    const response = await fetch("/api/v1/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    if (!response.ok) throw await errorFrom(response);
    this.store(await response.json());
  }

  /** Resume a session after a reload, from the refresh token of this tab. */
  async resume(): Promise<boolean> {
    let stored: string | null = null;
    try {
      stored = sessionStorage.getItem(REFRESH_KEY);
    } catch {
      stored = null;
    }
    if (!stored) return false;
    return (await this.refresh()) !== null;
  }

  /** A new pair from the refresh token; null (and signed out) when it is refused. */
  refresh(): Promise<string | null> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      let refresh: string | null = null;
      try {
        refresh = sessionStorage.getItem(REFRESH_KEY);
      } catch {
        refresh = null;
      }
      if (!refresh) {
        this.clear();
        return null;
      }
      try {
        const response = await fetch("/api/v1/auth/refresh", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh }),
        });
        if (response.status === 401 || response.status === 400) {
          this.clear();
          return null;
        }
        if (!response.ok) throw await errorFrom(response);
        const pair: Pair = await response.json();
        this.store(pair);
        return pair.access;
      } catch (err) {
        // Network trouble: keep the refresh token and try again shortly.
        window.clearTimeout(this.timer);
        this.timer = window.setTimeout(() => void this.refresh(), 10_000);
        throw err;
      }
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** An access token that is good for at least a little while. */
  async fresh(): Promise<string | null> {
    if (this.access && this.accessExp - Date.now() > 10_000) return this.access;
    return this.refresh();
  }

  async logout(): Promise<void> {
    const token = this.access;
    this.clear();
    if (token) {
      await fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(
        () => undefined,
      );
    }
  }
}

export const auth = new Auth();

/** fetch() under /api/v1/ with the bearer token; a 401 refreshes once and sends
 * again. Every REST helper below goes through it (refresh tokens are single use,
 * so the retry must never be written twice). */
async function authedFetch(path: string, init: RequestInit, headers: Record<string, string>): Promise<Response> {
  const call = (token: string | null) =>
    fetch("/api/v1/" + path, {
      ...init,
      headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}), ...init.headers },
    });
  const response = await call(await auth.fresh());
  if (response.status !== 401) return response;
  const token = await auth.refresh();
  if (token === null) throw new ApiError(401, "unauthenticated", "Session expired");
  return call(token);
}

/** GET/POST with the bearer token; a 401 refreshes once and retries. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await authedFetch(path, init, {
    Accept: "application/json",
    ...(init.body ? { "Content-Type": "application/json" } : {}),
  });
  if (!response.ok) throw await errorFrom(response);
  return response.status === 204 ? (undefined as T) : response.json();
}

// --- Shapes the console reads ---------------------------------------------------

export type Role = "owner" | "admin" | "agent" | "viewer";
const RANK: Record<Role, number> = { viewer: 0, agent: 1, admin: 2, owner: 3 };
export const atLeast = (role: Role | undefined, wanted: Role) => role !== undefined && RANK[role] >= RANK[wanted];

export type Me = { user: { id: string; email: string; name: string }; agency: { id: string; name: string }; role: Role };

export type Summary = {
  id: string;
  status: "open" | "qualified" | "declined" | "closed";
  step: string;
  progress: number;
  score: number | null;
  lead_id: string | null;
  lead_name: string | null;
  last_message: { role: string; text: string; at: string | null } | null;
  owner: { kind: "bot" | "staff"; name?: string };
  updated_at: string;
  created: string;
};

export type Lead = {
  id: string;
  conversation: string;
  status: string;
  answers: Record<string, unknown>;
  name: string | null;
  company: string | null;
  email: string | null;
  phone: string | null;
  score: number | null;
  score_reasons: { factor: string; points: number; max: number; reason_es: string; reason_en: string }[];
  consent: { granted: boolean | null; policy: string | null; at: string | null };
  // Added by other parts of the product as they land: rendered when present.
  strategy?: { status: string; pdf_url?: string | null } | null;
  crm?: { status: string; last_error?: string | null } | null;
};

export type Page<T> = { results: T[]; next: string | null };

export const me = () => api<Me>("me");

export function listConversations(params: { status?: string; q?: string; next?: string | null }): Promise<Page<Summary>> {
  if (params.next) {
    // The cursor link is absolute; only its query matters (same API, same origin).
    return api<Page<Summary>>("conversations/" + new URL(params.next, location.origin).search);
  }
  const query = new URLSearchParams({ page_size: "100" });
  if (params.status) query.set("status", params.status);
  if (params.q) query.set("q", params.q);
  return api<Page<Summary>>("conversations/?" + query.toString());
}

export const getLead = (id: string) => api<Lead>(`leads/${id}/`);

// --- Invitations (CONTRACT §5.1): the token in the link is the only credential ----

export type InvitationPreview = { agency: { id: string; name: string }; email: string; role: Role; expires: string;
                                  existing_account: boolean };

export async function invitationPreview(token: string): Promise<InvitationPreview> {
  const response = await fetch(`/api/v1/invitations/${encodeURIComponent(token)}/`, { headers: { Accept: "application/json" } });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

export async function invitationAccept(token: string, name: string, password: string): Promise<Pair> {
  const response = await fetch(`/api/v1/invitations/${encodeURIComponent(token)}/accept`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ name, password }),
  });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

// --- Forms and uploads: the error envelope in full, JSON or multipart bodies -----

/** A refused request with the envelope's per-field messages (`{"error":{"fields"}}`),
 * as the API sent them: flat (`{"origin": ["…"]}`), dotted or nested like the
 * body was (`{"branding": {"primary_color": ["…"]}}`). */
export class FieldsError extends ApiError {
  constructor(status: number, code: string, message: string, public fields: Record<string, unknown>) {
    super(status, code, message);
  }
}

/** The first message one field's errors hold: a string, a list of them, or
 * (for a nested body) a dict of those, searched in order. */
export function firstFieldMessage(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  const items = Array.isArray(value) ? value : value && typeof value === "object" ? Object.values(value) : [];
  for (const item of items) {
    const found = firstFieldMessage(item);
    if (found) return found;
  }
  return undefined;
}

function fieldsErrorOf(status: number, statusText: string, text: string): FieldsError {
  let code = "http_" + status;
  let message = statusText || "Error";
  let fields: Record<string, unknown> = {};
  try {
    const body = JSON.parse(text);
    if (body?.error) {
      code = body.error.code || code;
      message = body.error.message || message;
      if (body.error.fields && typeof body.error.fields === "object") fields = body.error.fields;
    }
  } catch {
    // Not JSON (a proxy's page): the status line is all there is.
  }
  return new FieldsError(status, code, message, fields);
}

/** Like api(), but a refusal throws a FieldsError carrying the field errors and a
 * FormData body goes out as multipart (the browser sets its boundary). */
export async function apiForm<T>(path: string, init: RequestInit = {}, { blob = false } = {}): Promise<T> {
  const response = await authedFetch(path, init, {
    Accept: blob ? "*/*" : "application/json",
    ...(init.body && !(init.body instanceof FormData) ? { "Content-Type": "application/json" } : {}),
  });
  if (!response.ok) throw fieldsErrorOf(response.status, response.statusText, await response.text());
  if (response.status === 204) return undefined as T;
  return (blob ? response.blob() : response.json()) as Promise<T>;
}

/** apiForm() with a method and a body that is FormData (multipart) or an object
 * (JSON); `blob` returns the answer as a Blob (downloads). */
export function apiSend<T>(path: string, method: string, body?: FormData | object, { blob = false } = {}): Promise<T> {
  const payload = body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body);
  return apiForm<T>(path, { method, body: payload }, { blob });
}

/** A multipart upload with progress (fetch cannot report upload progress; XHR can).
 * `onProgress` receives 0..1; a refusal throws a FieldsError, a network failure an
 * ApiError with status 0. A 401 refreshes the token once and sends again. */
export async function apiUpload<T>(path: string, method: "POST" | "PUT", form: FormData,
                                   onProgress?: (fraction: number) => void): Promise<T> {
  const send = (token: string | null) => new Promise<XMLHttpRequest>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, "/api/v1/" + path);
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new ApiError(0, "network", "Network error"));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "Aborted"));
    xhr.send(form);
  });
  let xhr = await send(await auth.fresh());
  if (xhr.status === 401) {
    const token = await auth.refresh();
    if (token === null) throw new ApiError(401, "unauthenticated", "Session expired");
    xhr = await send(token);
  }
  if (xhr.status < 200 || xhr.status >= 300) throw fieldsErrorOf(xhr.status, xhr.statusText, xhr.responseText);
  onProgress?.(1);
  return (xhr.status === 204 || !xhr.responseText ? undefined : JSON.parse(xhr.responseText)) as T;
}

/** A file the API answers (e.g. `?format=csv`), with the bearer token and the
 * same refresh-once-on-401 as api(); the file name comes from the response's
 * Content-Disposition when it gives one. */
export async function apiBlob(path: string): Promise<{ blob: Blob; filename: string | null }> {
  const response = await authedFetch(path, {}, {});
  if (!response.ok) throw await errorFrom(response);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const match = disposition.match(/filename="?([^";]+)"?/);
  return { blob: await response.blob(), filename: match ? match[1] : null };
}
