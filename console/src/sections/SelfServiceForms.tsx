/** Forms shared by the setup checklist and the settings: branding with its
 * live widget preview, allowed origins, the install snippet, a confirm dialog,
 * and the plumbing that puts the API's field errors next to their fields. */
import { useEffect, useId, useRef, useState, type ReactNode } from "react";

import { ApiError, FieldsError, firstFieldMessage } from "../api";
import { useI18n, type Translate } from "../i18n";
import * as ss from "./selfservice.api";
import "./SelfService.css";

export type Fields = Record<string, unknown>;

/** The first message the envelope's `fields` hold at a dotted path
 * ("branding.primary_color"), nested lists and dicts included. */
export function fieldError(fields: Fields | null, path: string): string | undefined {
  let node: unknown = fields;
  for (const part of path.split(".")) {
    if (!node || typeof node !== "object" || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return firstFieldMessage(node);
}

/** One submission at a time, its field errors and a form-level message. */
export function useSubmit() {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [fields, setFields] = useState<Fields | null>(null);
  // The error itself, described at render: switching language re-words it.
  const [failure, setFailure] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  async function run<T>(action: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setFields(null);
    setFailure(null);
    setDone(false);
    try {
      const result = await action();
      setDone(true);
      return result;
    } catch (err) {
      setFailure(err);
      if (err instanceof FieldsError && Object.keys(err.fields).length) setFields(err.fields);
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  const error = failure === null ? null : describe(t, failure);
  return { busy, fields, error, done, run, fail: setFailure };
}

export function describe(t: Translate, err: unknown): string {
  if (err instanceof FieldsError && Object.keys(err.fields).length) return t("ss.checkFields");
  if (err instanceof ApiError) {
    if (err.status === 403) return t("error.forbidden");
    return t("error.generic", { message: err.message });
  }
  return t("error.generic", { message: String(err) });
}

type FieldProps = { id: string; "aria-invalid"?: true; "aria-describedby"?: string };

/** A labelled field: its hint and error are announced with it. */
export function Field({ label, hint, error, children, className = "" }: {
  label: ReactNode; hint?: ReactNode; error?: string; className?: string;
  children: (props: FieldProps) => ReactNode;
}) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className={`field ${error ? "invalid" : ""} ${className}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(error ? { "aria-invalid": true } : {}), ...(described ? { "aria-describedby": described } : {}) })}
      {hint && <p className="field-hint" id={`${id}-hint`}>{hint}</p>}
      {error && <p className="field-error" id={`${id}-error`}>{error}</p>}
    </div>
  );
}

export function FormStatus({ error, done, doneText }: { error: string | null; done: boolean; doneText?: string }) {
  const { t } = useI18n();
  return (
    <span className="form-status" role="status" aria-live="polite">
      {error ? <span className="form-error inline">{error}</span>
        : done ? <span className="saved">✓ {doneText ?? t("ss.saved")}</span> : null}
    </span>
  );
}

/** Text on the primary colour: dark or white, whichever reads (as the widget does). */
export function onColour(hex: string): string {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
  if (!m) return "#fff";
  const n = parseInt(m[1], 16);
  const lin = (c: number) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  const l = 0.2126 * lin(n >> 16) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  return l > 0.4 ? "#0f172a" : "#fff";
}

/** What the widget will look like on the site, drawn from the form's values. */
export function WidgetLook({ name, color, logoUrl, greeting, position }: {
  name: string; color: string; logoUrl: string | null; greeting: string; position: "left" | "right";
}) {
  const { t } = useI18n();
  const primary = ss.HEX.test(color) ? color : ss.DEFAULT_COLOR;
  const on = onColour(primary);
  return (
    <figure className={`widget-look ${position}`} aria-label={t("ss.previewLabel")}>
      <div className="wl-panel">
        <div className="wl-head" style={{ background: primary, color: on }}>
          {logoUrl && <img src={logoUrl} alt="" className="wl-logo" />}
          <span className="wl-name">{name || t("ss.previewName")}</span>
          <span aria-hidden="true" className="wl-x">×</span>
        </div>
        <div className="wl-bar"><i style={{ background: primary }} /></div>
        <div className="wl-log">
          <p className="wl-msg">{t("ss.previewHello")}</p>
          <p className="wl-msg lead" style={{ background: primary, color: on }}>{t("ss.previewLead")}</p>
        </div>
      </div>
      <div className="wl-foot">
        {greeting && <p className="wl-greet">{greeting}</p>}
        <span className="wl-launcher" style={{ background: primary, color: on }} aria-hidden="true">
          <svg viewBox="0 0 24 24"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z" fill="currentColor" /></svg>
        </span>
      </div>
      <figcaption className="sr-only">{t("ss.previewLabel")}</figcaption>
    </figure>
  );
}

/** Logo, colour, greeting and position, with the widget's look beside them. */
export function BrandingForm({ agency, onSaved, compact = false }: {
  agency: ss.Agency; onSaved: (a: ss.Agency) => void; compact?: boolean;
}) {
  const { t } = useI18n();
  const b = agency.branding;
  const [color, setColor] = useState(b.primary_color || ss.DEFAULT_COLOR);
  const [greeting, setGreeting] = useState(b.greeting || "");
  const [position, setPosition] = useState<"left" | "right">(b.position || "right");
  const [colorError, setColorError] = useState<string | undefined>();
  const form = useSubmit();
  const logo = useSubmit();
  const [logoError, setLogoError] = useState<string | undefined>();
  const fileRef = useRef<HTMLInputElement>(null);

  async function save(event: React.FormEvent) {
    event.preventDefault();
    if (!ss.HEX.test(color)) {
      setColorError(t("ss.colorInvalid"));
      return;
    }
    setColorError(undefined);
    const saved = await form.run(() => ss.patchAgency({ branding: { primary_color: color.toLowerCase(), greeting, position } }));
    if (saved) onSaved(saved);
  }

  async function upload(file: File | undefined) {
    setLogoError(undefined);
    if (!file) return;
    // Checked here for a message in the console's language; the API checks the bytes.
    if (!ss.LOGO_TYPES.includes(file.type)) setLogoError(t("ss.logoType"));
    else if (file.size > ss.LOGO_MAX_BYTES) setLogoError(t("ss.logoSize"));
    else {
      const saved = await logo.run(() => ss.uploadLogo(file));
      if (saved) onSaved(saved);
    }
    if (fileRef.current) fileRef.current.value = "";
  }

  async function removeLogo() {
    const saved = await logo.run(() => ss.patchAgency({ branding: { logo: null } }));
    if (saved) onSaved(saved);
  }

  const apiColorError = fieldError(form.fields, "branding.primary_color");
  const shownLogoError = logoError ?? fieldError(logo.fields, "logo") ?? (logo.error && !logo.fields ? logo.error : undefined);
  return (
    <div className={`branding ${compact ? "compact" : ""}`}>
      <form className="form-grid" onSubmit={save} noValidate aria-label={t("ss.brandingForm")}>
        <Field label={t("ss.logo")} hint={t("ss.logoHint")} error={shownLogoError}>
          {(p) => (
            <div className="logo-row">
              <span className="logo-box">
                {b.logo_url ? <img src={b.logo_url} alt={t("ss.logoCurrent")} /> : <span className="muted small">{t("ss.noLogo")}</span>}
              </span>
              {/* The native input stays (keyboard, screen readers), visually replaced by a
                  button in the console's language instead of the browser's "Choose file". */}
              <span className="file-pick">
                <input ref={fileRef} type="file" accept={ss.LOGO_TYPES.join(",")} {...p} disabled={logo.busy}
                       className="sr-only" onChange={(e) => void upload(e.target.files?.[0])} />
                <label htmlFor={p.id} className="file-button" aria-hidden="true">
                  {logo.busy ? t("ss.logoUploading") : b.logo_url ? t("ss.logoChange") : t("ss.logoUpload")}
                </label>
              </span>
              {b.logo_url && (
                <button type="button" className="ghost small" onClick={() => void removeLogo()} disabled={logo.busy}>
                  {t("ss.logoRemove")}
                </button>
              )}
            </div>
          )}
        </Field>
        <Field label={t("ss.color")} hint={t("ss.colorHint")} error={colorError ?? apiColorError}>
          {(p) => (
            <div className="color-row">
              <input type="color" value={ss.HEX.test(color) ? color : ss.DEFAULT_COLOR} aria-label={t("ss.colorPicker")}
                     onChange={(e) => { setColor(e.target.value); setColorError(undefined); }} />
              <input type="text" {...p} value={color} maxLength={7} spellCheck={false} className="mono hex"
                     onChange={(e) => {
                       const value = e.target.value.trim();
                       setColor(value);
                       // Cleared as soon as it is right, not on blur: a message vanishing
                       // under a pressed Save button would move it and swallow the click.
                       if (ss.HEX.test(value)) setColorError(undefined);
                     }}
                     onBlur={() => setColorError(ss.HEX.test(color) ? undefined : t("ss.colorInvalid"))} />
            </div>
          )}
        </Field>
        <Field label={t("ss.greeting")} hint={t("ss.greetingHint")} error={fieldError(form.fields, "branding.greeting")}>
          {(p) => <textarea {...p} rows={2} maxLength={300} value={greeting} onChange={(e) => setGreeting(e.target.value)} />}
        </Field>
        <fieldset className="field">
          <legend>{t("ss.position")}</legend>
          <div className="segmented">
            {(["left", "right"] as const).map((side) => (
              <label key={side} className={position === side ? "on" : ""}>
                <input type="radio" name="position" value={side} checked={position === side}
                       onChange={() => setPosition(side)} />
                {t(side === "left" ? "ss.left" : "ss.right")}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={form.busy}>{t("ss.saveBranding")}</button>
          <FormStatus error={form.error} done={form.done} />
        </div>
      </form>
      <WidgetLook name={agency.name} color={color} logoUrl={b.logo_url} greeting={greeting} position={position} />
    </div>
  );
}

/** The sites allowed to embed the widget: add (the API names a bad value), remove. */
export function OriginsEditor({ onChange }: { onChange?: (origins: ss.Origin[]) => void }) {
  const { t } = useI18n();
  const [origins, setOrigins] = useState<ss.Origin[] | null>(null);
  const [value, setValue] = useState("");
  const form = useSubmit();
  const remover = useSubmit();
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    ss.listOrigins().then(setOrigins, form.fail);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  function update(next: ss.Origin[]) {
    setOrigins(next);
    onChange?.(next);
  }

  async function add(event: React.FormEvent) {
    event.preventDefault();
    const created = await form.run(() => ss.addOrigin(value.trim()));
    if (created) {
      update([...(origins ?? []), created]);
      setValue("");
    } else {
      inputRef.current?.focus();
    }
  }

  async function remove(origin: ss.Origin) {
    const removed = await remover.run(async () => { await ss.removeOrigin(origin.id); return true; });
    if (removed) update((origins ?? []).filter((o) => o.id !== origin.id));
  }

  const originError = fieldError(form.fields, "origin") ?? (form.error && !form.fields ? form.error : undefined);
  return (
    <div className="origins">
      {origins === null ? <p className="muted small">{t("ss.loading")}</p> : origins.length === 0 ? (
        <p className="muted small">{t("ss.noOrigins")}</p>
      ) : (
        <ul className="rows" aria-label={t("ss.originsList")}>
          {origins.map((o) => (
            <li key={o.id}>
              <span className="mono">{o.origin}</span>
              <button type="button" className="ghost small danger" onClick={() => void remove(o)}
                      aria-label={t("ss.removeOrigin", { origin: o.origin })}>{t("ss.remove")}</button>
            </li>
          ))}
        </ul>
      )}
      <form className="inline-form" onSubmit={add} noValidate>
        <Field label={t("ss.originLabel")} hint={t("ss.originHint")} error={originError}>
          {(p) => (
            <input ref={inputRef} {...p} type="url" inputMode="url" placeholder={t("ss.originPlaceholder")} value={value}
                   spellCheck={false} autoComplete="off" className="mono" onChange={(e) => setValue(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="secondary" disabled={form.busy || !value.trim()}>{t("ss.addOrigin")}</button>
      </form>
      {remover.error && <p className="form-error" role="alert">{remover.error}</p>}
    </div>
  );
}

/** A code snippet to copy: selectable text and a Copy button. */
export function CopyBox({ text, label }: { text: string; label: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = useId();

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard API (an insecure origin): select it for Ctrl+C.
      ref.current?.select();
      document.execCommand?.("copy");
    }
    setCopied(true);
    window.setTimeout(() => setCopied(false), 2500);
  }

  return (
    <div className="copybox">
      <label htmlFor={id} className="sr-only">{label}</label>
      <textarea id={id} ref={ref} readOnly value={text} rows={2} className="mono snippet" spellCheck={false}
                onFocus={(e) => e.currentTarget.select()} />
      <button type="button" className="primary small" onClick={() => void copy()}>
        {copied ? t("ss.copied") : t("ss.copy")}
      </button>
      <span className="sr-only" role="status" aria-live="polite">{copied ? t("ss.copiedLong") : ""}</span>
    </div>
  );
}

/** A modal question (native <dialog>: focus stays inside, Esc cancels). */
export function Confirm({ open, title, body, confirm, onConfirm, onCancel, danger = true }: {
  open: boolean; title: string; body: ReactNode; confirm: string; onConfirm: () => void; onCancel: () => void;
  danger?: boolean;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className="confirm" onCancel={(e) => { e.preventDefault(); onCancel(); }}
            aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      <div className="confirm-body">{body}</div>
      <div className="form-actions end">
        <button type="button" className="ghost" onClick={onCancel} autoFocus>{t("ss.cancel")}</button>
        <button type="button" className={danger ? "primary danger" : "primary"} onClick={onConfirm}>{confirm}</button>
      </div>
    </dialog>
  );
}

export function formatDate(lang: string, iso: string, withTime = false): string {
  const d = new Date(iso);
  return d.toLocaleDateString(lang === "en" ? "en-GB" : "es-ES", {
    day: "numeric", month: "short", year: "numeric", ...(withTime ? { hour: "2-digit", minute: "2-digit" } : {}),
  });
}
