/** Small pieces the integrations screens share. */
import { useState } from "react";

import { useI18n, type Translate } from "../i18n";

export function when(lang: string, iso: string | null, t: Translate): string {
  if (!iso) return t("int.never");
  return new Date(iso).toLocaleString(lang === "es" ? "es-ES" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export function errorText(t: Translate, err: unknown): string {
  return t("int.error", { message: err instanceof Error ? err.message : String(err) });
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  return (
    <button type="button" className="secondary small" aria-label={label}
            onClick={() => {
              const done = () => {
                setCopied(true);
                window.setTimeout(() => setCopied(false), 2000);
              };
              const fallback = () => {
                // No async clipboard (permission or an insecure origin): the old copy command.
                const area = document.createElement("textarea");
                area.value = text;
                area.setAttribute("readonly", "");
                area.style.position = "fixed";
                area.style.opacity = "0";
                document.body.appendChild(area);
                area.select();
                if (document.execCommand("copy")) done();
                area.remove();
              };
              if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, fallback);
              else fallback();
            }}>
      {copied ? t("int.copied") : t("int.copy")}
    </button>
  );
}
