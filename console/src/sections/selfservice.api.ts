/** The agency's self-service REST (CONTRACT §5.1): profile and branding,
 * onboarding checklist, widget keys, allowed origins, members. */
import { apiSend, type Role } from "../api";

export type Branding = { logo_url: string | null; primary_color: string | null; greeting: string | null;
                         position: "left" | "right" | null };
export type Scoring = { budget: number; timeline: number; fit: number; completeness: number };
export type Agency = {
  id: string; slug: string; name: string; locale: "es" | "en"; branding: Branding;
  privacy_policy: { url: string; version: string }; scoring: Scoring; notification_emails: string[];
};
export type AgencyChanges = Partial<{
  name: string; locale: string; branding: Partial<Omit<Branding, "logo_url">> & { logo?: null };
  privacy_policy: Partial<Agency["privacy_policy"]>; scoring: Partial<Scoring>; notification_emails: string[];
}>;

export type StepId = "branding" | "origin" | "install" | "test_chat" | "clientify";
export type Onboarding = { steps: { id: StepId; done: boolean }[]; complete: boolean; widget_key: string | null;
                           snippet: string | null };
export type WidgetKey = { id: string; key: string; name: string; created: string };
export type Origin = { id: string; origin: string };
export type Member = { id: string; role: Role; created: string; user: { id: string; email: string; name: string } };
export type Invitation = { id: string; email: string; role: Role; created: string; expires: string };

export const DEFAULT_COLOR = "#4f46e5";
export const HEX = /^#[0-9a-fA-F]{6}$/;
export const LOGO_TYPES = ["image/png", "image/jpeg", "image/webp"];
export const LOGO_MAX_BYTES = 1024 * 1024;

export const getAgency = () => apiSend<Agency>("agency/", "GET");
export const patchAgency = (changes: AgencyChanges) => apiSend<Agency>("agency/", "PATCH", changes);
export function uploadLogo(file: File): Promise<Agency> {
  const form = new FormData();
  form.append("logo", file);
  return apiSend<Agency>("agency/", "PATCH", form);
}

export const getOnboarding = () => apiSend<Onboarding>("agency/onboarding", "GET");

export const listKeys = () => apiSend<{ results: WidgetKey[] }>("widget-keys/", "GET").then((r) => r.results);
export const createKey = (name: string) => apiSend<WidgetKey>("widget-keys/", "POST", { name });
export const revokeKey = (id: string) => apiSend<void>(`widget-keys/${id}/`, "DELETE");

export const listOrigins = () => apiSend<{ results: Origin[] }>("origins/", "GET").then((r) => r.results);
export const addOrigin = (origin: string) => apiSend<Origin>("origins/", "POST", { origin });
export const removeOrigin = (id: string) => apiSend<void>(`origins/${id}/`, "DELETE");

export const listMembers = () => apiSend<{ results: Member[]; invitations: Invitation[] }>("members/", "GET");
export const invite = (email: string, role: Role) => apiSend<Invitation>("members/", "POST", { email, role });
export const changeRole = (id: string, role: Role) => apiSend<Member>(`members/${id}/`, "PATCH", { role });
export const removeMember = (id: string) => apiSend<void>(`members/${id}/`, "DELETE");
export const withdrawInvitation = (id: string) => apiSend<void>(`members/invitations/${id}/`, "DELETE");

/** The WordPress plugin pre-filled with `key`, saved by the browser. */
export async function downloadPlugin(key: string): Promise<void> {
  const blob = await apiSend<Blob>(`widget/wordpress-plugin.zip?key=${encodeURIComponent(key)}`, "GET", undefined,
                                   { blob: true });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = "markezy-wordpress-plugin.zip";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The snippet a site pastes (CONTRACT §3) for any of the agency's keys, on
 * the server URL the onboarding API put in its own snippet (PUBLIC_BASE_URL). */
export function snippetFor(key: string, template: string | null = null): string {
  if (template) return template.replace(/data-key="[^"]*"/, `data-key="${key}"`);
  return `<script src="${location.origin}/widget/v1/markezy.js" data-key="${key}" async></script>`;
}

/** The console's widget preview: a page on this origin embedding the widget (widget/views.py). */
export function previewUrl(key: string, lang: string): string {
  return `/widget/preview/?key=${encodeURIComponent(key)}&lang=${lang === "en" ? "en" : "es"}`;
}

/** Forget the preview's visitor, so the next load starts a new conversation
 * (the widget keeps it in this origin's localStorage under its key). */
export function forgetPreviewVisitor(key: string): void {
  try {
    localStorage.removeItem(`markezy:${key}`);
  } catch {
    // Storage disabled: the widget could not have kept one either.
  }
}
