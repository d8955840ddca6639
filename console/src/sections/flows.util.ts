/** Small helpers the flow screens share. */
import type { Lang, Translate } from "../i18n";
import type { VersionSummary } from "./flows.api";

export function formatDate(value: string | null, lang: Lang): string {
  if (!value) return "—";
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "es-ES", { dateStyle: "medium", timeStyle: "short" })
    .format(new Date(value));
}

export function versionStatus(t: Translate, version: VersionSummary, current: string | null): { label: string; cls: string } {
  if (version.id === current) return { label: t("flows.status.live"), cls: "live" };
  if (version.status === "draft") return { label: t("flows.status.draft"), cls: "draft" };
  return { label: t("flows.status.earlier"), cls: "earlier" };
}
