/** What changed between two versions of the flow, in words: questions added,
 * removed and changed (each changed field with its before and after). */
import { useEffect, useState } from "react";

import { ApiError } from "../api";
import { useI18n } from "../i18n";
import type { Key, Lang, Translate } from "../i18n";
import { Link, pathOf } from "../router";
import { conditionText } from "./FlowRules";
import { getDiff, getVersion } from "./flows.api";
import type { Branch, Choice, Definition, Diff, Question, SkipRule, Version } from "./flows.api";

export function promptOf(q: Question, lang: Lang): string {
  return (lang === "en" && q.prompt.en) || q.prompt.es;
}

export function typeLabel(t: Translate, type: string): string {
  return t(`flows.type.${type}` as Key);
}

function choiceText(c: Choice, lang: Lang): string {
  return (lang === "en" && c.label.en) || c.label.es || c.value;
}

/** One changed key of a question as readable before/after lines. */
function changeLines(t: Translate, lang: Lang, key: string, before: Question, after: Question): { label: string; before: string; after: string }[] {
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  if (key === "prompt" || key === "help") {
    const label = t(key === "prompt" ? "flows.diff.prompt" : "flows.diff.help");
    const bp = (b[key] ?? {}) as Record<string, string>;
    const ap = (a[key] ?? {}) as Record<string, string>;
    return (["es", "en"] as const)
      .filter((l) => (bp[l] ?? "") !== (ap[l] ?? ""))
      .map((l) => ({ label: `${label} (${l.toUpperCase()})`, before: bp[l] || "—", after: ap[l] || "—" }));
  }
  if (key === "type") return [{ label: t("flows.diff.type"), before: typeLabel(t, before.type), after: typeLabel(t, after.type) }];
  if (key === "required") {
    const yes = (v: unknown) => (v === false ? t("flows.diff.optional") : t("flows.diff.required"));
    return [{ label: t("flows.diff.requiredLabel"), before: yes(b.required), after: yes(a.required) }];
  }
  if (key === "choices") {
    const bc = before.choices ?? [];
    const ac = after.choices ?? [];
    const names = (list: Choice[]) => list.map((c) => choiceText(c, lang)).join(", ") || "—";
    const added = ac.filter((c) => !bc.some((x) => x.value === c.value));
    const removed = bc.filter((c) => !ac.some((x) => x.value === c.value));
    const lines = [];
    if (added.length) lines.push({ label: t("flows.diff.choicesAdded"), before: "—", after: names(added) });
    if (removed.length) lines.push({ label: t("flows.diff.choicesRemoved"), before: names(removed), after: "—" });
    if (!lines.length) lines.push({ label: t("flows.diff.choices"), before: names(bc), after: names(ac) });
    return lines;
  }
  if (key === "validation") {
    const bv = (before.validation ?? {}) as Record<string, unknown>;
    const av = (after.validation ?? {}) as Record<string, unknown>;
    return Array.from(new Set([...Object.keys(bv), ...Object.keys(av)]))
      .filter((k) => bv[k] !== av[k])
      .map((k) => ({ label: t(`flows.validation.${k}` as Key), before: bv[k] === undefined ? "—" : String(bv[k]),
                     after: av[k] === undefined ? "—" : String(av[k]) }));
  }
  const show = (v: unknown) => (v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));
  return [{ label: key, before: show(b[key]), after: show(a[key]) }];
}

/** The skip and jump rules one version has and the other not, in words. */
function ruleChanges(t: Translate, lang: Lang, before: Definition, after: Definition) {
  const name = (field: string) => {
    const q = after.questions.find((x) => x.field === field) ?? before.questions.find((x) => x.field === field);
    return q ? promptOf(q, lang) : field;
  };
  const skipText = (r: SkipRule) => t("flows.diff.skipRule", { q: name(r.field), cond: conditionText(t, r.when) });
  const branchText = (b: Branch) => t("flows.diff.branchRule", {
    q: name(b.after), cond: conditionText(t, b.when), goto: b.goto === "done" ? t("flows.rule.gotoDone") : name(b.goto) });
  const lines = (d: Definition) => [...(d.skip ?? []).map(skipText), ...(d.branches ?? []).map(branchText)];
  const old = lines(before);
  const now = lines(after);
  return { added: now.filter((l) => !old.includes(l)), removed: old.filter((l) => !now.includes(l)) };
}

export function FlowDiff({ id, against }: { id: string; against: string }) {
  const { t, lang } = useI18n();
  const [diff, setDiff] = useState<Diff | null>(null);
  const [versions, setVersions] = useState<{ version: Version; against: Version } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    Promise.all([getDiff(id, against), getVersion(id), getVersion(against)]).then(
      ([d, v, a]) => {
        setDiff(d);
        setVersions({ version: v, against: a });
      },
      (e: ApiError) => setError(e.status === 404 ? "" : e.message),
    );
  }, [id, against]);

  const nothing = diff && !diff.added.length && !diff.removed.length && !diff.changed.length && !diff.reordered
    && !diff.rules_changed;

  return (
    <main id="main" className="page flows" tabIndex={-1}>
      <div className="page-inner">
        <p><Link to={pathOf("flows")} className="flows-back">← {t("flows.backToVersions")}</Link></p>
        <div className="page-head">
          <h1>
            {versions
              ? t("flows.diff.title", { from: versions.against.number, to: versions.version.number })
              : t("flows.diff.titlePlain")}
          </h1>
          {versions && (
            <Link to={pathOf("flows", id)} className="flows-open-link">{t("flows.openN", { n: versions.version.number })}</Link>
          )}
        </div>
        {error !== null && <p className="form-error" role="alert">{error || t("flows.notFound")}</p>}
        {!diff && error === null && <div className="card flows-loading" aria-busy="true">{t("flows.loading")}</div>}
        {diff && (
          <div className="flows-diff">
            {nothing && <div className="card"><p>{t("flows.diff.same")}</p></div>}
            {(diff.reordered || diff.rules_changed) && (
              <div className="card flows-diff-flags">
                {diff.reordered && <p>↕ {t("flows.diff.reordered")}</p>}
                {diff.rules_changed && <p>⤳ {t("flows.diff.rulesChanged")}</p>}
                {diff.rules_changed && versions && (() => {
                  const rules = ruleChanges(t, lang, versions.against.definition, versions.version.definition);
                  return (
                    <ul className="diff-rules">
                      {rules.added.map((r) => <li key={`+${r}`} className="diff-after"><span className="sr-only">{t("flows.diff.ruleAdded")}</span>+ {r}</li>)}
                      {rules.removed.map((r) => <li key={`-${r}`} className="diff-before"><span className="sr-only">{t("flows.diff.ruleRemoved")}</span>− {r}</li>)}
                    </ul>
                  );
                })()}
              </div>
            )}
            {diff.added.length > 0 && (
              <section className="card diff-added" aria-labelledby="diff-added">
                <h2 id="diff-added"><span className="diff-sign" aria-hidden="true">+</span>
                  {t("flows.diff.added", { n: diff.added.length })}</h2>
                <ul className="diff-list">
                  {diff.added.map((q) => (
                    <li key={q.field}>
                      <strong>{promptOf(q, lang)}</strong>
                      <span className="muted small"> · {typeLabel(t, q.type)} · <code>{q.field}</code>
                        {versions && ` · ${t("flows.diff.at", {
                          n: versions.version.definition.questions.findIndex((x) => x.field === q.field) + 1 })}`}</span>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            {diff.removed.length > 0 && (
              <section className="card diff-removed" aria-labelledby="diff-removed">
                <h2 id="diff-removed"><span className="diff-sign" aria-hidden="true">−</span>
                  {t("flows.diff.removed", { n: diff.removed.length })}</h2>
                <ul className="diff-list">
                  {diff.removed.map((q) => (
                    <li key={q.field}>
                      <strong>{promptOf(q, lang)}</strong>
                      <span className="muted small"> · {typeLabel(t, q.type)} · <code>{q.field}</code></span>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            {diff.changed.length > 0 && (
              <section className="card diff-changed" aria-labelledby="diff-changed">
                <h2 id="diff-changed"><span className="diff-sign" aria-hidden="true">~</span>
                  {t("flows.diff.changed", { n: diff.changed.length })}</h2>
                {diff.changed.map((c) => (
                  <div key={c.field} className="diff-question">
                    <h3>{promptOf(c.after, lang)} <code className="muted small">{c.field}</code></h3>
                    <table className="diff-table">
                      <thead>
                        <tr>
                          <th scope="col">{t("flows.diff.what")}</th>
                          <th scope="col">{t("flows.diff.before")}</th>
                          <th scope="col">{t("flows.diff.after")}</th>
                        </tr>
                      </thead>
                      <tbody>
                        {c.keys.flatMap((key) => changeLines(t, lang, key, c.before, c.after)).map((line, i) => (
                          <tr key={i}>
                            <th scope="row">{line.label}</th>
                            <td className="diff-before">{line.before}</td>
                            <td className="diff-after">{line.after}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                ))}
              </section>
            )}
          </div>
        )}
      </div>
    </main>
  );
}
