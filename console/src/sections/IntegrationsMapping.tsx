/** The Clientify field mapping (integrations/clientify/mapping.py) as a form:
 * every key the mapping supports, with Clientify's defaults as placeholders. */
import { useEffect, useId, useState } from "react";

import { FieldsError, firstFieldMessage } from "../api";
import { useI18n } from "../i18n";
import { errorText } from "./IntegrationsShared";
import { saveClientify, type Clientify, type Mapping } from "./integrations.api";

const NATIVE = ["first_name", "last_name", "email", "phone", "company", "status", "tags", "gdpr_accept",
                "contact_source"] as const;
const BANDS = ["hot", "warm", "cold"] as const;
const DEFAULT_STATUS: Record<string, string> = { hot: "hot-lead", warm: "warm-lead", cold: "cold-lead" };

type Native = { send: boolean; target: string };
type CustomName = { answer: string; name: string; omit: boolean };
type Form = {
  native: Record<string, Native>;
  customFields: boolean;
  prefix: string;
  names: CustomName[];
  status: Record<string, string>;
  tags: string;
  source: string;
  pipeline: string;
  stage: string;
};

function toForm(m: Mapping): Form {
  const fields = m.fields ?? {};
  return {
    native: Object.fromEntries(NATIVE.map((f) => [f, {
      send: fields[f] !== null,
      target: typeof fields[f] === "string" && fields[f] !== f ? (fields[f] as string) : "",
    }])),
    customFields: m.custom_fields !== false,
    prefix: m.custom_field_prefix ?? "",
    names: Object.entries(m.custom_field_names ?? {}).map(([answer, name]) => ({ answer, name: name ?? "", omit: name === null })),
    status: Object.fromEntries(BANDS.map((b) => [b, m.status_by_band?.[b] ?? ""])),
    tags: (m.extra_tags ?? []).join(", "),
    source: m.contact_source ?? "",
    pipeline: m.deal_pipeline ?? "",
    stage: m.deal_stage ?? "",
  };
}

/** Only what differs from the defaults, so Clientify's defaults keep applying to the rest. */
function toMapping(f: Form): Mapping {
  const out: Mapping = {};
  const fields: Record<string, string | null> = {};
  for (const name of NATIVE) {
    const n = f.native[name];
    if (!n.send) fields[name] = null;
    else if (n.target.trim() && n.target.trim() !== name) fields[name] = n.target.trim();
  }
  if (Object.keys(fields).length) out.fields = fields;
  if (!f.customFields) out.custom_fields = false;
  if (f.prefix.trim()) out.custom_field_prefix = f.prefix.trim();
  const names = f.names.filter((n) => n.answer.trim() && (n.omit || n.name.trim()));
  if (names.length) out.custom_field_names = Object.fromEntries(names.map((n) => [n.answer.trim(), n.omit ? null : n.name.trim()]));
  const status = Object.fromEntries(BANDS.filter((b) => f.status[b].trim()).map((b) => [b, f.status[b].trim()]));
  if (Object.keys(status).length) out.status_by_band = status;
  const tags = f.tags.split(",").map((s) => s.trim()).filter(Boolean);
  if (tags.length) out.extra_tags = tags;
  if (f.source.trim()) out.contact_source = f.source.trim();
  if (f.pipeline.trim()) out.deal_pipeline = f.pipeline.trim();
  if (f.stage.trim()) out.deal_stage = f.stage.trim();
  return out;
}

export function MappingEditor({ data, onSaved }: { data: Clientify; onSaved: (c: Clientify) => void }) {
  const { t } = useI18n();
  const [form, setForm] = useState<Form>(() => toForm(data.field_mapping ?? {}));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const base = useId();
  const id = (s: string) => `${base}-${s}`;
  const stored = JSON.stringify(data.field_mapping ?? {});
  useEffect(() => setForm(toForm(JSON.parse(stored))), [stored]);

  const set = (change: Partial<Form>) => { setForm((f) => ({ ...f, ...change })); setSaved(false); };
  const err = (key: string) => errors[key] ? (
    <span className="field-error" id={id(`err-${key}`)} role="alert">{errors[key]}</span>
  ) : null;
  const described = (key: string, hint?: string) =>
    [hint, errors[key] ? id(`err-${key}`) : ""].filter(Boolean).join(" ") || undefined;

  async function save(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    setSaved(false);
    try {
      const next = await saveClientify({ enabled: data.enabled, field_mapping: toMapping(form) });
      onSaved(next);
      setSaved(true);
    } catch (e) {
      if (e instanceof FieldsError && Object.keys(e.fields).length) {
        // "field_mapping.status_by_band" → shown next to the status group; anything else at the form's foot.
        const mapped: Record<string, string> = {};
        for (const [k, v] of Object.entries(e.fields)) mapped[k.replace(/^field_mapping\./, "")] = firstFieldMessage(v) ?? "";
        setErrors(mapped);
        if (mapped.api_token) setFormError(t("map.needsToken"));
      } else {
        setFormError(errorText(t, e));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card intg-mapping" aria-labelledby={id("title")}>
      <h2 id={id("title")}>{t("map.title")}</h2>
      <p className="muted small">{t("map.hint")}</p>
      <form className="intg-form" onSubmit={save} noValidate>
        <fieldset className="intg-fieldset">
          <legend>{t("map.native")}</legend>
          <table className="intg-map-table">
            <thead>
              <tr><th scope="col">{t("map.field")}</th><th scope="col">{t("map.send")}</th><th scope="col">{t("map.target")}</th></tr>
            </thead>
            <tbody>
              {NATIVE.map((name) => {
                const n = form.native[name];
                const label = t(`map.native.${name}`);
                return (
                  <tr key={name}>
                    <th scope="row"><span>{label}</span> <code className="muted">{name}</code></th>
                    <td>
                      <input type="checkbox" checked={n.send} aria-label={`${t("map.send")}: ${label}`}
                             onChange={(e) => set({ native: { ...form.native, [name]: { ...n, send: e.target.checked } } })} />
                    </td>
                    <td>
                      <input type="text" value={n.target} placeholder={name} disabled={!n.send}
                             aria-label={`${t("map.target")}: ${label}`}
                             onChange={(e) => set({ native: { ...form.native, [name]: { ...n, target: e.target.value } } })} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {err("fields")}
        </fieldset>

        <fieldset className="intg-fieldset">
          <legend>{t("map.custom")}</legend>
          <label className="intg-check">
            <input type="checkbox" checked={form.customFields} onChange={(e) => set({ customFields: e.target.checked })} />
            <span>{t("map.custom.send")}</span>
          </label>
          <div className="intg-field">
            <label htmlFor={id("prefix")}>{t("map.custom.prefix")}</label>
            <input id={id("prefix")} type="text" value={form.prefix} placeholder="markezy_" disabled={!form.customFields}
                   aria-invalid={errors.custom_field_prefix ? true : undefined} aria-describedby={described("custom_field_prefix")}
                   onChange={(e) => set({ prefix: e.target.value })} />
            {err("custom_field_prefix")}
          </div>
          <div className="intg-field">
            <span className="intg-label" id={id("names")}>{t("map.custom.names")}</span>
            {form.names.length > 0 && (
              <ul className="intg-names" aria-labelledby={id("names")}>
                {form.names.map((n, i) => {
                  const update = (change: Partial<CustomName>) =>
                    set({ names: form.names.map((x, j) => (j === i ? { ...x, ...change } : x)) });
                  return (
                    <li key={i}>
                      <input type="text" value={n.answer} placeholder="budget_monthly" aria-label={t("map.custom.answer")}
                             onChange={(e) => update({ answer: e.target.value })} />
                      <input type="text" value={n.name} disabled={n.omit} aria-label={t("map.custom.name")}
                             placeholder={`${form.prefix || "markezy_"}${n.answer || "…"}`}
                             onChange={(e) => update({ name: e.target.value })} />
                      <label className="intg-check small">
                        <input type="checkbox" checked={n.omit} onChange={(e) => update({ omit: e.target.checked })} />
                        <span>{t("map.custom.omit")}</span>
                      </label>
                      <button type="button" className="ghost small"
                              aria-label={t("map.custom.remove", { name: n.answer || "…" })}
                              onClick={() => set({ names: form.names.filter((_, j) => j !== i) })}>✕</button>
                    </li>
                  );
                })}
              </ul>
            )}
            <div>
              <button type="button" className="ghost small"
                      onClick={() => set({ names: [...form.names, { answer: "", name: "", omit: false }] })}>
                + {t("map.custom.add")}
              </button>
            </div>
            {err("custom_field_names")}
          </div>
        </fieldset>

        <fieldset className="intg-fieldset">
          <legend>{t("map.status")}</legend>
          <div className="intg-row3">
            {BANDS.map((b) => (
              <div className="intg-field" key={b}>
                <label htmlFor={id(`band-${b}`)}>{t(`map.band.${b}`)}</label>
                <input id={id(`band-${b}`)} type="text" value={form.status[b]} placeholder={DEFAULT_STATUS[b]}
                       aria-invalid={errors.status_by_band ? true : undefined} aria-describedby={described("status_by_band")}
                       onChange={(e) => set({ status: { ...form.status, [b]: e.target.value } })} />
              </div>
            ))}
          </div>
          {err("status_by_band")}
        </fieldset>

        <fieldset className="intg-fieldset">
          <legend>{t("map.extra")}</legend>
          <div className="intg-row3">
            <div className="intg-field">
              <label htmlFor={id("tags")}>{t("map.tags")}</label>
              <input id={id("tags")} type="text" value={form.tags} placeholder="Web, Markezy"
                     aria-invalid={errors.extra_tags ? true : undefined} aria-describedby={described("extra_tags", id("tags-hint"))}
                     onChange={(e) => set({ tags: e.target.value })} />
              <span className="muted small" id={id("tags-hint")}>{t("map.tags.hint")}</span>
              {err("extra_tags")}
            </div>
            <div className="intg-field">
              <label htmlFor={id("source")}>{t("map.source")}</label>
              <input id={id("source")} type="text" value={form.source} placeholder="Markezy"
                     aria-invalid={errors.contact_source ? true : undefined} aria-describedby={described("contact_source")}
                     onChange={(e) => set({ source: e.target.value })} />
              {err("contact_source")}
            </div>
            <div className="intg-field">
              <label htmlFor={id("pipeline")}>{t("map.pipeline")}</label>
              <input id={id("pipeline")} type="text" value={form.pipeline} placeholder={t("map.default")}
                     aria-invalid={errors.deal_pipeline ? true : undefined} aria-describedby={described("deal_pipeline")}
                     onChange={(e) => set({ pipeline: e.target.value })} />
              {err("deal_pipeline")}
            </div>
            <div className="intg-field">
              <label htmlFor={id("stage")}>{t("map.stage")}</label>
              <input id={id("stage")} type="text" value={form.stage} placeholder={t("map.default")}
                     aria-invalid={errors.deal_stage ? true : undefined} aria-describedby={described("deal_stage")}
                     onChange={(e) => set({ stage: e.target.value })} />
              {err("deal_stage")}
            </div>
          </div>
        </fieldset>
        {formError && <p className="form-error" role="alert">{formError}</p>}
        <div className="intg-actions">
          <button type="submit" className="primary" disabled={busy}>{busy ? t("int.saving") : t("map.save")}</button>
          {saved && <span className="ok small" role="status">{t("int.saved")}</span>}
        </div>
      </form>
    </section>
  );
}
