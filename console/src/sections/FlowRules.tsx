/** The rules of one question: when it is skipped (`skip`) and where the flow
 * jumps after it (`branches`), each a condition on earlier answers in the
 * flow schema's format: {field, op, value} or a group {all|any: [...]}. */
import { useId } from "react";

import { useI18n } from "../i18n";
import type { Key, Lang, Translate } from "../i18n";
import type { Branch, Condition, Op, Question, SimpleCondition, SkipRule } from "./flows.api";

const CHOICE_OPS: Op[] = ["eq", "ne", "in", "not_in", "answered", "not_answered"];
const NUMBER_OPS: Op[] = ["eq", "ne", "lt", "lte", "gt", "gte", "answered", "not_answered"];
const TEXT_OPS: Op[] = ["eq", "ne", "in", "not_in", "answered", "not_answered"];
const NUMERIC = new Set<Op>(["lt", "lte", "gt", "gte"]);

function opsFor(q: Question | undefined): Op[] {
  if (!q) return TEXT_OPS;
  if (q.type === "number" || q.type === "money") return NUMBER_OPS;
  if (q.type === "choice" || q.type === "multichoice") return CHOICE_OPS;
  if (q.type === "consent") return ["eq", "answered", "not_answered"];
  return TEXT_OPS;
}

type Group = { mode: "all" | "any"; items: Condition[] };

function asGroup(when: Condition): Group {
  if ("all" in when) return { mode: "all", items: when.all };
  if ("any" in when) return { mode: "any", items: when.any };
  return { mode: "all", items: [when] };
}

function fromGroup(group: Group): Condition {
  if (group.items.length === 1) return group.items[0];
  return group.mode === "all" ? { all: group.items } : { any: group.items };
}

function isSimple(c: Condition): c is SimpleCondition {
  return "op" in c;
}

function label(q: Question, lang: Lang): string {
  return (lang === "en" && q.prompt.en) || q.prompt.es || q.field;
}

/** A condition read aloud, for nested groups the editor does not unfold. */
export function conditionText(t: Translate, c: Condition): string {
  if ("all" in c) return c.all.map((x) => conditionText(t, x)).join(` ${t("flows.rule.and")} `);
  if ("any" in c) return c.any.map((x) => conditionText(t, x)).join(` ${t("flows.rule.or")} `);
  const show = (v: unknown): string => Array.isArray(v) ? v.map(show).join(", ")
    : v && typeof v === "object" && "setting" in v ? `⟨${String((v as { setting: unknown }).setting)}⟩` : String(v);
  const value = c.value === undefined ? "" : ` ${show(c.value)}`;
  return `${c.field} ${t(`flows.op.${c.op}` as Key)}${value}`;
}

export function newCondition(questions: Question[]): SimpleCondition {
  const q = questions[questions.length - 1];
  return { field: q?.field ?? "", op: "answered" };
}

function ValueEditor({ cond, refQ, onChange, describedBy, idBase }: {
  cond: SimpleCondition; refQ: Question | undefined; onChange: (c: SimpleCondition) => void; describedBy?: string;
  idBase: string;
}) {
  const { t, lang } = useI18n();
  if (cond.op === "answered" || cond.op === "not_answered") return null;
  const aria = { "aria-describedby": describedBy };
  if (refQ?.type === "consent") {
    return (
      <select aria-label={t("flows.rule.value")} value={String(cond.value === true)} {...aria}
              onChange={(e) => onChange({ ...cond, value: e.target.value === "true" })}>
        <option value="true">{t("flows.rule.consentYes")}</option>
        <option value="false">{t("flows.rule.consentNo")}</option>
      </select>
    );
  }
  if ((refQ?.type === "choice" || refQ?.type === "multichoice") && refQ.choices?.length) {
    const choices = refQ.choices;
    if (cond.op === "in" || cond.op === "not_in") {
      const picked = Array.isArray(cond.value) ? (cond.value as string[]) : [];
      return (
        <fieldset className="rule-choices" {...aria}>
          <legend className="sr-only">{t("flows.rule.values")}</legend>
          {choices.map((c) => (
            <label key={c.value} className="rule-choice">
              <input type="checkbox" checked={picked.includes(c.value)}
                     onChange={(e) => onChange({ ...cond, value: e.target.checked ? [...picked, c.value]
                       : picked.filter((v) => v !== c.value) })} />
              {(lang === "en" && c.label.en) || c.label.es || c.value}
            </label>
          ))}
        </fieldset>
      );
    }
    return (
      <select aria-label={t("flows.rule.value")} value={typeof cond.value === "string" ? cond.value : ""} {...aria}
              onChange={(e) => onChange({ ...cond, value: e.target.value })}>
        <option value="" disabled>{t("flows.rule.pick")}</option>
        {choices.map((c) => (
          <option key={c.value} value={c.value}>{(lang === "en" && c.label.en) || c.label.es || c.value}</option>
        ))}
      </select>
    );
  }
  if (NUMERIC.has(cond.op) || refQ?.type === "number" || refQ?.type === "money") {
    const setting = cond.value && typeof cond.value === "object" && "setting" in (cond.value as object)
      ? String((cond.value as { setting: string }).setting) : null;
    return (
      <span className="rule-value">
        <select aria-label={t("flows.rule.valueKind")} value={setting === null ? "number" : "setting"}
                onChange={(e) => onChange({ ...cond, value: e.target.value === "setting" ? { setting: "" } : undefined })}>
          <option value="number">{t("flows.rule.kindNumber")}</option>
          <option value="setting">{t("flows.rule.kindSetting")}</option>
        </select>
        {setting === null ? (
          <input type="number" id={`${idBase}-n`} aria-label={t("flows.rule.value")} {...aria}
                 value={typeof cond.value === "number" ? cond.value : ""}
                 onChange={(e) => onChange({ ...cond, value: e.target.value === "" ? undefined : Number(e.target.value) })} />
        ) : (
          <input type="text" aria-label={t("flows.rule.settingName")} {...aria} value={setting}
                 placeholder="self_serve_budget_threshold"
                 onChange={(e) => onChange({ ...cond, value: { setting: e.target.value } })} />
        )}
      </span>
    );
  }
  const list = cond.op === "in" || cond.op === "not_in";
  const shown = list ? (Array.isArray(cond.value) ? (cond.value as unknown[]).join(", ") : "")
    : cond.value === undefined ? "" : String(cond.value);
  return (
    <input type="text" aria-label={list ? t("flows.rule.valuesComma") : t("flows.rule.value")} {...aria} value={shown}
           onChange={(e) => onChange({ ...cond, value: list
             ? e.target.value.split(",").map((s) => s.trim()).filter(Boolean) : e.target.value })} />
  );
}

function ConditionRow({ cond, earlier, onChange, onRemove, describedBy }: {
  cond: SimpleCondition; earlier: Question[]; onChange: (c: SimpleCondition) => void; onRemove: () => void;
  describedBy?: string;
}) {
  const { t, lang } = useI18n();
  const idBase = useId();
  const refQ = earlier.find((q) => q.field === cond.field);
  const ops = opsFor(refQ);
  const known = earlier.some((q) => q.field === cond.field);
  return (
    <div className="rule-cond">
      <select aria-label={t("flows.rule.question")} value={cond.field} aria-describedby={describedBy}
              onChange={(e) => {
                const next = earlier.find((q) => q.field === e.target.value);
                const op = opsFor(next).includes(cond.op) ? cond.op : "answered";
                onChange({ field: e.target.value, op });
              }}>
        {!known && <option value={cond.field}>{cond.field || t("flows.rule.pick")}</option>}
        {earlier.map((q) => <option key={q.field} value={q.field}>{label(q, lang)}</option>)}
      </select>
      <select aria-label={t("flows.rule.op")} value={cond.op}
              onChange={(e) => {
                const op = e.target.value as Op;
                const keep = (NUMERIC.has(op) === NUMERIC.has(cond.op)) && (op === "in" || op === "not_in") === (cond.op === "in" || cond.op === "not_in");
                onChange({ field: cond.field, op, ...(keep && cond.value !== undefined ? { value: cond.value } : {}) });
              }}>
        {ops.map((op) => <option key={op} value={op}>{t(`flows.op.${op}` as Key)}</option>)}
      </select>
      <ValueEditor cond={cond} refQ={refQ} onChange={onChange} describedBy={describedBy} idBase={idBase} />
      <button type="button" className="ghost small" onClick={onRemove} aria-label={t("flows.rule.removeCondition")}>✕</button>
    </div>
  );
}

function ConditionGroup({ when, earlier, onChange, onEmpty, describedBy }: {
  when: Condition; earlier: Question[]; onChange: (c: Condition) => void; onEmpty: () => void; describedBy?: string;
}) {
  const { t } = useI18n();
  const group = asGroup(when);
  if (!group.items.every(isSimple)) {
    return (
      <div className="rule-nested">
        <code>{conditionText(t, when)}</code>
        <button type="button" className="ghost small" onClick={() => onChange(newCondition(earlier))}>
          {t("flows.rule.replaceNested")}
        </button>
      </div>
    );
  }
  const items = group.items as SimpleCondition[];
  const set = (i: number, c: SimpleCondition) => onChange(fromGroup({ ...group, items: items.map((x, j) => (j === i ? c : x)) }));
  const remove = (i: number) => {
    const rest = items.filter((_, j) => j !== i);
    if (rest.length === 0) onEmpty();
    else onChange(fromGroup({ ...group, items: rest }));
  };
  return (
    <div className="rule-group">
      {items.length > 1 && (
        <label className="rule-mode">
          <span className="sr-only">{t("flows.rule.mode")}</span>
          <select value={group.mode} onChange={(e) => onChange(fromGroup({ mode: e.target.value as "all" | "any", items }))}>
            <option value="all">{t("flows.rule.all")}</option>
            <option value="any">{t("flows.rule.any")}</option>
          </select>
        </label>
      )}
      {items.map((c, i) => (
        <ConditionRow key={i} cond={c} earlier={earlier} onChange={(n) => set(i, n)} onRemove={() => remove(i)}
                      describedBy={describedBy} />
      ))}
      <button type="button" className="ghost small rule-add-cond"
              onClick={() => onChange(fromGroup({ ...group, items: [...items, newCondition(earlier)] }))}>
        + {t("flows.rule.addCondition")}
      </button>
    </div>
  );
}

export type RuleErrors = Record<string, string[]>;

function messages(errors: RuleErrors | undefined): string[] {
  return errors ? Object.values(errors).flat() : [];
}

export function QuestionRules({ question, index, questions, skip, branches, editable, skipErrors, branchErrors,
                                onSkip, onBranches }: {
  question: Question; index: number; questions: Question[];
  skip: { rule: SkipRule; at: number }[]; branches: { rule: Branch; at: number }[]; editable: boolean;
  skipErrors: Record<number, RuleErrors>; branchErrors: Record<number, RuleErrors>;
  onSkip: (at: number | null, rule: SkipRule | null) => void; onBranches: (at: number | null, rule: Branch | null) => void;
}) {
  const { t, lang } = useI18n();
  const base = useId();
  const before = questions.slice(0, index);
  const upToHere = questions.slice(0, index + 1);
  const later = questions.slice(index + 1);
  return (
    <div className="rules">
      <div className="rules-block">
        <h4>{t("flows.rule.skipTitle")}</h4>
        {skip.length === 0 && <p className="muted small">{t("flows.rule.skipNone")}</p>}
        {skip.map(({ rule, at }) => {
          const errs = messages(skipErrors[at]);
          const errId = `${base}-skip-${at}`;
          return (
            <div key={at} className={`rule${errs.length ? " invalid" : ""}`} data-rule={`skip/${at}`}>
              <span className="rule-lead">{t("flows.rule.skipWhen")}</span>
              <ConditionGroup when={rule.when} earlier={before} describedBy={errs.length ? errId : undefined}
                              onChange={(when) => onSkip(at, { ...rule, when })} onEmpty={() => onSkip(at, null)} />
              <button type="button" className="ghost small" onClick={() => onSkip(at, null)}>{t("flows.rule.remove")}</button>
              {errs.length > 0 && <ul className="field-error" id={errId}>{errs.map((m, i) => <li key={i}>{m}</li>)}</ul>}
            </div>
          );
        })}
        {editable && (
          <button type="button" className="secondary small" disabled={before.length === 0}
                  onClick={() => onSkip(null, { field: question.field, when: newCondition(before) })}>
            + {t("flows.rule.addSkip")}
          </button>
        )}
        {editable && before.length === 0 && <p className="muted small">{t("flows.rule.skipFirst")}</p>}
      </div>
      <div className="rules-block">
        <h4>{t("flows.rule.branchTitle")}</h4>
        {branches.length === 0 && <p className="muted small">{t("flows.rule.branchNone")}</p>}
        {branches.map(({ rule, at }) => {
          const errs = messages(branchErrors[at]);
          const errId = `${base}-branch-${at}`;
          return (
            <div key={at} className={`rule${errs.length ? " invalid" : ""}`} data-rule={`branches/${at}`}>
              <span className="rule-lead">{t("flows.rule.branchWhen")}</span>
              <ConditionGroup when={rule.when} earlier={upToHere} describedBy={errs.length ? errId : undefined}
                              onChange={(when) => onBranches(at, { ...rule, when })} onEmpty={() => onBranches(at, null)} />
              <label className="rule-goto">
                <span>{t("flows.rule.goto")}</span>
                <select value={rule.goto} aria-describedby={errs.length ? errId : undefined}
                        onChange={(e) => onBranches(at, { ...rule, goto: e.target.value })}>
                  {!later.some((q) => q.field === rule.goto) && rule.goto !== "done" && (
                    <option value={rule.goto}>{rule.goto}</option>
                  )}
                  {later.map((q) => <option key={q.field} value={q.field}>{label(q, lang)}</option>)}
                  <option value="done">{t("flows.rule.gotoDone")}</option>
                </select>
              </label>
              <button type="button" className="ghost small" onClick={() => onBranches(at, null)}>{t("flows.rule.remove")}</button>
              {errs.length > 0 && <ul className="field-error" id={errId}>{errs.map((m, i) => <li key={i}>{m}</li>)}</ul>}
            </div>
          );
        })}
        {editable && (
          <button type="button" className="secondary small"
                  onClick={() => onBranches(null, { after: question.field, when: newCondition(upToHere),
                                                     goto: later[0]?.field ?? "done" })}>
            + {t("flows.rule.addBranch")}
          </button>
        )}
      </div>
    </div>
  );
}
