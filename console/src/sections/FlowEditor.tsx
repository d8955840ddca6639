/** One version of the flow. A draft is edited here: its questions (type,
 * prompts, required, validation, choices), their rules, their order (drag and
 * drop, or the move buttons / Alt+↑↓ with a spoken announcement); saved with
 * the API's schema errors shown next to the inputs they name; tried in a real
 * chat (the widget on a preview session); published behind a confirmation.
 * A published version is shown read-only. */
import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import type { DragEvent, KeyboardEvent } from "react";

import { ApiError } from "../api";
import { useI18n } from "../i18n";
import type { Key } from "../i18n";
import { Link, navigate, pathOf, useLeaveGuard } from "../router";
import { promptOf, typeLabel } from "./FlowDiff";
import { QuestionRules } from "./FlowRules";
import type { RuleErrors } from "./FlowRules";
import { formatDate, versionStatus } from "./flows.util";
import { FieldErrors, createDraft, getFlows, getVersion, publishVersion, saveDraft, startPreview } from "./flows.api";
import type {
  Branch, Choice, Definition, FlowOverview, I18nText, PreviewSession, Question, QuestionType, SkipRule, Validation, Version,
} from "./flows.api";

const TYPES: QuestionType[] = ["text", "choice", "multichoice", "number", "money", "email", "phone", "url", "consent"];

type Item = { uid: string; q: Question };
type Doc = { meta: Omit<Definition, "questions" | "skip" | "branches">; items: Item[]; skip: SkipRule[]; branches: Branch[] };
type Errors = {
  general: string[];
  questions: Record<string, Record<string, string[]>>; // uid -> sub-path -> messages
  skip: Record<number, RuleErrors>;
  branches: Record<number, RuleErrors>;
};
const NO_ERRORS: Errors = { general: [], questions: {}, skip: {}, branches: {} };

let uidCounter = 0;
const nextUid = () => `q${++uidCounter}`;

function toDoc(definition: Definition): Doc {
  const { questions, skip, branches, ...meta } = definition;
  return { meta, items: questions.map((q) => ({ uid: nextUid(), q })), skip: skip ?? [], branches: branches ?? [] };
}

function toDefinition(doc: Doc): Definition {
  return { ...doc.meta, questions: doc.items.map((i) => i.q), skip: doc.skip, branches: doc.branches };
}

/** The API's `fields` (paths into the definition sent) by question and rule. */
function sortErrors(fields: Record<string, string[]>, doc: Doc): Errors {
  const out: Errors = { general: [], questions: {}, skip: {}, branches: {} };
  for (const [path, messages] of Object.entries(fields)) {
    const parts = path.split("/");
    if (parts[0] === "questions" && parts.length > 1 && doc.items[Number(parts[1])]) {
      const uid = doc.items[Number(parts[1])].uid;
      const sub = parts.slice(2).join("/");
      (out.questions[uid] ??= {})[sub] = messages;
    } else if ((parts[0] === "skip" || parts[0] === "branches") && parts.length > 1) {
      const bucket = parts[0] === "skip" ? out.skip : out.branches;
      (bucket[Number(parts[1])] ??= {})[parts.slice(2).join("/")] = messages;
    } else {
      out.general.push(...messages);
    }
  }
  return out;
}

function cleanValidation(v: Validation): Validation | undefined {
  const out: Validation = {};
  for (const [k, value] of Object.entries(v)) {
    if (value !== undefined && value !== "" && !(typeof value === "number" && Number.isNaN(value))) {
      (out as Record<string, unknown>)[k] = value;
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function uniqueField(items: Item[]): string {
  let n = items.length + 1;
  while (items.some((i) => i.q.field === `question_${n}`)) n++;
  return `question_${n}`;
}

export function FlowEditor({ id, canWrite }: { id: string; canWrite: boolean }) {
  const { t, lang } = useI18n();
  const [version, setVersion] = useState<Version | null>(null);
  const [overview, setOverview] = useState<FlowOverview | null>(null);
  const [doc, setDoc] = useState<Doc | null>(null);
  const [savedJson, setSavedJson] = useState("");
  const [errors, setErrors] = useState<Errors>(NO_ERRORS);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState<"" | "save" | "preview" | "publish" | "draft">("");
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [announcement, setAnnouncement] = useState("");
  const [preview, setPreview] = useState<PreviewSession | null>(null);
  const [previewRun, setPreviewRun] = useState(0);
  const [confirming, setConfirming] = useState(false);
  const [removed, setRemoved] = useState<{ item: Item; index: number; doc: Doc } | null>(null);
  const [dragging, setDragging] = useState<string | null>(null);
  const summaryRef = useRef<HTMLDivElement>(null);
  const listRef = useRef<HTMLOListElement>(null);

  const load = useCallback(async () => {
    try {
      const [v, o] = await Promise.all([getVersion(id), getFlows()]);
      setVersion(v);
      setOverview(o);
      const d = toDoc(v.definition);
      setDoc(d);
      setSavedJson(JSON.stringify(toDefinition(d)));
    } catch (e) {
      const err = e as ApiError;
      setLoadError(err.status === 404 ? "" : err.message);
    }
  }, [id]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    // The chat may start below the fold (beside a long head, or above the questions on a tablet): show all of it.
    if (previewRun) document.querySelector(".flows-preview")?.scrollIntoView({ block: "nearest" });
  }, [previewRun]);

  const editable = !!version && version.status === "draft" && canWrite;
  const dirty = !!doc && JSON.stringify(toDefinition(doc)) !== savedJson;

  // A reload, an in-app link or the browser's back button would drop the edits silently: ask first.
  useLeaveGuard(dirty, t("flows.leaveUnsaved"));

  const questions = useMemo(() => doc?.items.map((i) => i.q) ?? [], [doc]);

  const update = (fn: (d: Doc) => Doc) => setDoc((d) => (d ? fn(d) : d));

  const setQuestion = (uid: string, q: Question) => {
    update((d) => {
      const old = d.items.find((i) => i.uid === uid)?.q;
      let { skip, branches } = d;
      if (old && old.field !== q.field) {
        // A renamed answer field: the rules that name it follow.
        const rename = (f: string) => (f === old.field ? q.field : f);
        const renameCond = (c: unknown): unknown => {
          if (c && typeof c === "object") {
            const o = c as Record<string, unknown>;
            if (Array.isArray(o.all)) return { all: o.all.map(renameCond) };
            if (Array.isArray(o.any)) return { any: o.any.map(renameCond) };
            if (typeof o.field === "string") return { ...o, field: rename(o.field) };
          }
          return c;
        };
        skip = skip.map((r) => ({ field: rename(r.field), when: renameCond(r.when) as SkipRule["when"] }));
        branches = branches.map((b) => ({ after: rename(b.after), goto: rename(b.goto), when: renameCond(b.when) as Branch["when"] }));
      }
      return { ...d, items: d.items.map((i) => (i.uid === uid ? { ...i, q } : i)), skip, branches };
    });
    setErrors((e) => (e.questions[uid] ? { ...e, questions: { ...e.questions, [uid]: {} } } : e));
  };

  const move = (uid: string, delta: number) => {
    if (!doc) return;
    const from = doc.items.findIndex((i) => i.uid === uid);
    const to = from + delta;
    moveTo(uid, to);
  };

  const moveTo = (uid: string, to: number) => {
    if (!doc) return;
    const from = doc.items.findIndex((i) => i.uid === uid);
    const lockedTop = doc.items[0]?.q.type === "consent" ? 1 : 0;
    if (from < 0 || to < lockedTop || to >= doc.items.length || to === from) return;
    const items = [...doc.items];
    const [item] = items.splice(from, 1);
    items.splice(to, 0, item);
    // React moves some card's DOM node to reorder, which blurs whatever it
    // holds: put the focus back on the control that was used.
    const key = (document.activeElement as HTMLElement | null)?.dataset.focusKey;
    setDoc({ ...doc, items });
    setAnnouncement(t("flows.moved", { q: promptOf(item.q, lang), n: to + 1, total: items.length }));
    if (key) {
      requestAnimationFrame(() => {
        const target = document.querySelector<HTMLButtonElement>(`[data-focus-key="${key}"]`);
        const fallback = document.querySelector<HTMLElement>(`[data-focus-key="${uid}-handle"]`);
        (target && !target.disabled ? target : fallback)?.focus();
      });
    }
  };

  const addQuestion = () => {
    if (!doc) return;
    const item: Item = { uid: nextUid(), q: { field: uniqueField(doc.items), type: "text", required: true, prompt: { es: "", en: "" } } };
    setDoc({ ...doc, items: [...doc.items, item] });
    setExpanded((s) => new Set(s).add(item.uid));
    setAnnouncement(t("flows.added", { n: doc.items.length + 1 }));
    requestAnimationFrame(() => document.getElementById(`${item.uid}-prompt-es`)?.focus());
  };

  const removeQuestion = (uid: string) => {
    if (!doc) return;
    const index = doc.items.findIndex((i) => i.uid === uid);
    const item = doc.items[index];
    setRemoved({ item, index, doc });
    setDoc({
      ...doc,
      items: doc.items.filter((i) => i.uid !== uid),
      skip: doc.skip.filter((r) => r.field !== item.q.field),
      branches: doc.branches.filter((b) => b.after !== item.q.field),
    });
    setAnnouncement(t("flows.removed", { q: promptOf(item.q, lang) || item.q.field }));
    requestAnimationFrame(() => document.getElementById("flows-undo")?.focus());
  };

  const undoRemove = () => {
    if (!removed) return;
    setDoc(removed.doc);
    setRemoved(null);
    setAnnouncement(t("flows.restored"));
  };

  const save = async (): Promise<boolean> => {
    if (!doc || !version) return false;
    setBusy("save");
    setNotice(null);
    try {
      const saved = await saveDraft(version.id, toDefinition(doc));
      setVersion(saved);
      setSavedJson(JSON.stringify(toDefinition(doc)));
      setErrors(NO_ERRORS);
      setRemoved(null);
      setNotice({ kind: "ok", text: t("flows.saved") });
      return true;
    } catch (e) {
      if (e instanceof FieldErrors) {
        const sorted = sortErrors(e.fields, doc);
        setErrors(sorted);
        setExpanded((s) => {
          const next = new Set(s);
          Object.keys(sorted.questions).forEach((uid) => next.add(uid));
          for (const bucket of [sorted.skip, sorted.branches]) {
            for (const at of Object.keys(bucket)) {
              const field = bucket === sorted.skip ? doc.skip[Number(at)]?.field : doc.branches[Number(at)]?.after;
              const owner = doc.items.find((i) => i.q.field === field);
              if (owner) next.add(owner.uid);
            }
          }
          return next;
        });
        const count = Object.values(e.fields).flat().length;
        setNotice({ kind: "error", text: t("flows.invalid", { n: count }) });
        requestAnimationFrame(() => summaryRef.current?.focus());
      } else {
        setNotice({ kind: "error", text: (e as Error).message });
      }
      return false;
    } finally {
      setBusy("");
    }
  };

  const runPreview = async () => {
    if (!version) return;
    if (editable && dirty && !(await save())) return;
    setBusy("preview");
    try {
      const session = await startPreview(version.id, lang);
      setPreview(session);
      setPreviewRun((n) => n + 1);
      setAnnouncement(t("flows.previewStarted"));
    } catch (e) {
      setNotice({ kind: "error", text: (e as Error).message });
    } finally {
      setBusy("");
    }
  };

  const askPublish = async () => {
    if (editable && dirty && !(await save())) return;
    setConfirming(true);
  };

  const publish = async () => {
    if (!version) return;
    setBusy("publish");
    try {
      await publishVersion(version.id);
      setConfirming(false);
      await load();
      setNotice({ kind: "ok", text: t("flows.published", { n: version.number }) });
    } catch (e) {
      setConfirming(false);
      if (e instanceof FieldErrors && doc) {
        setErrors(sortErrors(e.fields, doc));
        setNotice({ kind: "error", text: t("flows.invalid", { n: Object.values(e.fields).flat().length }) });
      } else {
        setNotice({ kind: "error", text: (e as Error).message });
      }
    } finally {
      setBusy("");
    }
  };

  const draftFromHere = async () => {
    if (!version) return;
    setBusy("draft");
    try {
      const draft = await createDraft(version.definition);
      navigate(pathOf("flows", draft.id));
    } catch (e) {
      setNotice({ kind: "error", text: (e as Error).message });
      setBusy("");
    }
  };

  const onDrop = (e: DragEvent, index: number) => {
    e.preventDefault();
    const uid = e.dataTransfer.getData("text/x-flow-question") || dragging;
    setDragging(null);
    if (uid) moveTo(uid, index);
  };

  if (loadError !== null) {
    return (
      <main id="main" className="page flows" tabIndex={-1}>
        <div className="page-inner">
          <p><Link to={pathOf("flows")} className="flows-back">← {t("flows.backToVersions")}</Link></p>
          <p className="form-error" role="alert">{loadError || t("flows.notFound")}</p>
        </div>
      </main>
    );
  }
  if (!version || !doc || !overview) {
    return <main id="main" className="page flows" tabIndex={-1} aria-busy="true"><div className="splash" /></main>;
  }

  const status = versionStatus(t, version, overview.current_version);
  const live = overview.versions.find((v) => v.id === overview.current_version) ?? null;
  const others = overview.versions.filter((v) => v.id !== version.id);
  const previewSrc = preview ? preview.preview_url.replace("/#", `/?lang=${lang}#`) : "";

  return (
    <main id="main" className={`page flows flows-editor-page${preview ? " with-preview" : ""}`} tabIndex={-1}>
      <div className="flows-editor-inner">
        <p><Link to={pathOf("flows")} className="flows-back">← {t("flows.backToVersions")}</Link></p>
        <div className="page-head flows-head">
          <div>
            <h1>
              {t("flows.versionN", { n: version.number })} <span className={`flow-status ${status.cls}`}>{status.label}</span>
            </h1>
            <p className="muted small">
              {t("flows.createdBy", { when: formatDate(version.created, lang), who: version.created_by?.name ?? t("flows.bySystem") })}
              {version.published_at && (" · " + t("flows.publishedBy", {
                when: formatDate(version.published_at, lang), who: version.published_by?.name ?? t("flows.bySystem") }))}
            </p>
          </div>
          <div className="flows-actions">
            {others.length > 0 && (
              <label className="flows-diff-pick">
                <span className="sr-only">{t("flows.compareWith")}</span>
                <select value="" onChange={(e) => e.target.value && navigate(pathOf("flows", version.id, "diff", e.target.value))}>
                  <option value="">{t("flows.compareWith")}</option>
                  {others.map((v) => <option key={v.id} value={v.id}>{t("flows.versionN", { n: v.number })}{v.id === overview.current_version ? ` (${t("flows.status.live")})` : ""}</option>)}
                </select>
              </label>
            )}
            <button type="button" className="secondary" onClick={() => void runPreview()} disabled={!!busy || !canWrite}>
              {busy === "preview" ? t("flows.previewStarting") : preview ? t("flows.previewRestart") : t("flows.preview")}
            </button>
            {editable && (
              <>
                <button type="button" className="secondary" onClick={() => void save()} disabled={!!busy || !dirty}>
                  {busy === "save" ? t("flows.saving") : dirty ? t("flows.save") : t("flows.savedShort")}
                </button>
                <button type="button" className="primary" onClick={() => void askPublish()} disabled={!!busy}>
                  {t("flows.publish")}
                </button>
              </>
            )}
            {!editable && canWrite && (
              <button type="button" className="primary" onClick={() => void draftFromHere()} disabled={!!busy}>
                {busy === "draft" ? t("flows.creating") : t("flows.draftFromThis")}
              </button>
            )}
          </div>
        </div>

        {!editable && (
          <p className="banner subtle flows-banner">
            {version.status === "draft" ? t("flows.readOnlyRole") : t("flows.readOnlyPublished")}
          </p>
        )}
        {editable && live && (
          <p className="muted small">
            {t("flows.basedOn", { n: live.number })}{" "}
            <Link to={pathOf("flows", version.id, "diff", live.id)}>{t("flows.seeChanges")}</Link>
          </p>
        )}
        <div ref={summaryRef} tabIndex={-1} className="flows-notice-slot">
          {notice && (
            <div className={`alert ${notice.kind === "ok" ? "info" : "error"} flows-notice`} role={notice.kind === "ok" ? "status" : "alert"}>
              <span>{notice.text}</span>
              {notice.kind === "ok" && version.status === "published" && version.id === overview.current_version && others.length > 0 && (
                <Link to={pathOf("flows", version.id, "diff", others.find((v) => v.status !== "draft")?.id ?? others[0].id)}>
                  {t("flows.seeChanges")}
                </Link>
              )}
            </div>
          )}
          {errors.general.length > 0 && (
            <ul className="form-error flows-general-errors">{errors.general.map((m, i) => <li key={i}>{m}</li>)}</ul>
          )}
        </div>
        {removed && (
          <div className="alert info flows-undo" role="status">
            <span>{t("flows.removed", { q: promptOf(removed.item.q, lang) || removed.item.q.field })}</span>
            <button id="flows-undo" type="button" className="secondary small" onClick={undoRemove}>{t("flows.undo")}</button>
          </div>
        )}

        <div className="flows-layout">
          <section className="flows-questions" aria-labelledby="flows-questions-title">
            <div className="flows-questions-head">
              <h2 id="flows-questions-title">{t("flows.questions", { n: doc.items.length })}</h2>
              {editable && <p className="muted small" id="flows-reorder-help">{t("flows.reorderHelp")}</p>}
            </div>
            <ol className="flow-questions" ref={listRef}>
              {doc.items.map((item, index) => (
                <QuestionCard
                  key={item.uid} item={item} index={index} count={doc.items.length} questions={questions}
                  editable={editable} expanded={expanded.has(item.uid)} dragging={dragging === item.uid}
                  errors={errors.questions[item.uid] ?? {}}
                  skip={doc.skip.map((rule, at) => ({ rule, at })).filter((r) => r.rule.field === item.q.field)}
                  branches={doc.branches.map((rule, at) => ({ rule, at })).filter((r) => r.rule.after === item.q.field)}
                  skipErrors={errors.skip} branchErrors={errors.branches}
                  locked={index === 0 && item.q.type === "consent"}
                  canMoveUp={index > (doc.items[0]?.q.type === "consent" ? 1 : 0)}
                  onToggle={() => setExpanded((s) => {
                    const next = new Set(s);
                    if (next.has(item.uid)) next.delete(item.uid); else next.add(item.uid);
                    return next;
                  })}
                  onChange={(q) => setQuestion(item.uid, q)}
                  onMove={(delta) => move(item.uid, delta)}
                  onRemove={() => removeQuestion(item.uid)}
                  onSkip={(at, rule) => {
                    update((d) => ({ ...d, skip: at === null ? [...d.skip, rule!] : rule ? d.skip.map((r, i) => (i === at ? rule : r)) : d.skip.filter((_, i) => i !== at) }));
                    setErrors((e) => ({ ...e, skip: {} }));
                  }}
                  onBranches={(at, rule) => {
                    update((d) => ({ ...d, branches: at === null ? [...d.branches, rule!] : rule ? d.branches.map((r, i) => (i === at ? rule : r)) : d.branches.filter((_, i) => i !== at) }));
                    setErrors((e) => ({ ...e, branches: {} }));
                  }}
                  onDragStart={(e) => {
                    setDragging(item.uid);
                    e.dataTransfer.effectAllowed = "move";
                    e.dataTransfer.setData("text/x-flow-question", item.uid);
                    const card = (e.currentTarget as HTMLElement).closest("li");
                    if (card) e.dataTransfer.setDragImage(card, 24, 24);
                  }}
                  onDragEnd={() => setDragging(null)}
                  onDrop={(e) => onDrop(e, index)}
                />
              ))}
            </ol>
            {editable && (
              <button type="button" className="secondary flows-add" onClick={addQuestion}>+ {t("flows.addQuestion")}</button>
            )}
          </section>

          {preview && (
            <aside className="flows-preview card" aria-labelledby="flows-preview-title">
              <div className="flows-preview-head">
                <h2 id="flows-preview-title">{t("flows.previewTitle")}</h2>
                <button type="button" className="ghost small" onClick={() => setPreview(null)}>{t("flows.previewClose")}</button>
              </div>
              <p className="muted small">{t("flows.previewNote", { n: preview.flow_version.number })}</p>
              <iframe key={previewRun} className="flows-preview-frame" src={previewSrc} title={t("flows.previewFrame")} />
            </aside>
          )}
        </div>
      </div>
      <div className="sr-only" aria-live="polite" aria-atomic="true">{announcement}</div>
      {confirming && (
        <PublishDialog number={version.number} busy={busy === "publish"} onCancel={() => setConfirming(false)}
                       onConfirm={() => void publish()} />
      )}
    </main>
  );
}

function PublishDialog({ number, busy, onCancel, onConfirm }: {
  number: number; busy: boolean; onCancel: () => void; onConfirm: () => void;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    const opener = document.activeElement as HTMLElement | null;
    return () => opener?.focus();
  }, []);
  return (
    <dialog ref={ref} className="flows-dialog" aria-labelledby={titleId} onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      <h2 id={titleId}>{t("flows.confirmTitle", { n: number })}</h2>
      <p>{t("flows.confirmNew")}</p>
      <p className="muted">{t("flows.confirmRunning")}</p>
      <div className="flows-dialog-actions">
        <button type="button" className="ghost" onClick={onCancel} autoFocus>{t("flows.cancel")}</button>
        <button type="button" className="primary" onClick={onConfirm} disabled={busy}>
          {busy ? t("flows.publishing") : t("flows.confirmPublish", { n: number })}
        </button>
      </div>
    </dialog>
  );
}

function FieldError({ id, messages }: { id: string; messages?: string[] }) {
  if (!messages?.length) return null;
  return <span className="field-error" id={id}>{messages.join(" ")}</span>;
}

function QuestionCard(props: {
  item: Item; index: number; count: number; questions: Question[]; editable: boolean; expanded: boolean;
  dragging: boolean; errors: Record<string, string[]>; skip: { rule: SkipRule; at: number }[];
  branches: { rule: Branch; at: number }[]; skipErrors: Record<number, RuleErrors>; branchErrors: Record<number, RuleErrors>;
  locked: boolean; canMoveUp: boolean;
  onToggle: () => void; onChange: (q: Question) => void; onMove: (delta: number) => void; onRemove: () => void;
  onSkip: (at: number | null, rule: SkipRule | null) => void; onBranches: (at: number | null, rule: Branch | null) => void;
  onDragStart: (e: DragEvent) => void; onDragEnd: () => void; onDrop: (e: DragEvent) => void;
}) {
  const { item, index, count, editable, expanded, errors, locked } = props;
  const { t, lang } = useI18n();
  const [over, setOver] = useState(false);
  const q = item.q;
  const uid = item.uid;
  const err = (sub: string) => errors[sub];
  const errsUnder = (prefix: string) => Object.entries(errors).filter(([k]) => k === prefix || k.startsWith(prefix + "/"))
    .flatMap(([, m]) => m);
  const shown = new Set(["field", "type", "prompt", "prompt/es", "prompt/en", "help", "help/es", "help/en", "required",
                         "validation", "validation/min", "validation/max", "validation/min_length",
                         "validation/max_length", "validation/pattern"]);
  const leftover = Object.entries(errors).filter(([k]) => !shown.has(k) && !k.startsWith("choices")).flatMap(([, m]) => m);
  const invalid = Object.values(errors).some((m) => m.length) ||
    props.skip.some((r) => props.skipErrors[r.at]) || props.branches.some((r) => props.branchErrors[r.at]);
  const title = promptOf(q, lang) || t("flows.untitled");
  const set = (patch: Partial<Question>) => props.onChange({ ...q, ...patch });
  const setValidation = (patch: Validation) => {
    const v = cleanValidation({ ...(q.validation ?? {}), ...patch });
    const next = { ...q, validation: v };
    if (!v) delete next.validation;
    props.onChange(next);
  };
  const numeric = q.type === "number" || q.type === "money";
  const textual = q.type === "text";
  const choices = q.type === "choice" || q.type === "multichoice";
  const setChoice = (i: number, c: Choice) => set({ choices: (q.choices ?? []).map((x, j) => (j === i ? c : x)) });

  const onKeyDown = (e: KeyboardEvent) => {
    if (!editable || !e.altKey || locked) return;
    if (e.key === "ArrowUp" && props.canMoveUp) { e.preventDefault(); props.onMove(-1); }
    if (e.key === "ArrowDown" && index < count - 1) { e.preventDefault(); props.onMove(1); }
  };

  const numberInput = (key: keyof Validation, labelKey: Key, integer = false) => {
    const id = `${uid}-v-${key}`;
    const messages = err(`validation/${key}`) ?? (key === "min" || key === "max" ? undefined : undefined);
    return (
      <label className="flow-field small-field">
        <span>{t(labelKey)}</span>
        <input id={id} type="number" step={integer ? 1 : "any"} value={(q.validation?.[key] as number | undefined) ?? ""}
               aria-invalid={!!messages || !!err("validation")} aria-describedby={`${uid}-v-err`}
               onChange={(e) => setValidation({ [key]: e.target.value === "" ? undefined : Number(e.target.value) })} />
      </label>
    );
  };

  return (
    <li className={`flow-q${expanded ? " open" : ""}${props.dragging ? " dragging" : ""}${over ? " over" : ""}${invalid ? " invalid" : ""}`}
        data-field={q.field} data-position={index + 1}
        onDragOver={(e) => { if (editable && !locked) { e.preventDefault(); setOver(true); } }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => { setOver(false); props.onDrop(e); }}>
      <div className="flow-q-head" onKeyDown={onKeyDown}>
        {editable && !locked ? (
          <button type="button" className="flow-q-handle ghost" draggable onDragStart={props.onDragStart}
                  data-focus-key={`${uid}-handle`}
                  onDragEnd={props.onDragEnd} aria-describedby="flows-reorder-help"
                  aria-label={t("flows.handle", { q: title, n: index + 1, total: count })}>
            <svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="7" cy="5" r="1.5" /><circle cx="13" cy="5" r="1.5" />
              <circle cx="7" cy="10" r="1.5" /><circle cx="13" cy="10" r="1.5" /><circle cx="7" cy="15" r="1.5" />
              <circle cx="13" cy="15" r="1.5" /></svg>
          </button>
        ) : <span className="flow-q-handle placeholder" aria-hidden="true" />}
        <span className="flow-q-num" aria-hidden="true">{index + 1}</span>
        <button type="button" className="flow-q-title" aria-expanded={expanded} aria-controls={`${uid}-body`}
                onClick={props.onToggle}>
          <span className="flow-q-prompt">{title}</span>
          <span className="flow-q-meta">
            <span className="flow-type">{typeLabel(t, q.type)}</span>
            <code>{q.field}</code>
            {q.required === false && <span className="muted">{t("flows.optional")}</span>}
            {(props.skip.length > 0 || props.branches.length > 0) && (
              <span className="flow-rules-tag">{t("flows.hasRules", { n: props.skip.length + props.branches.length })}</span>
            )}
            {invalid && <span className="flow-q-bad">{t("flows.hasErrors")}</span>}
          </span>
        </button>
        {editable && (
          <span className="flow-q-tools">
            <button type="button" className="ghost small" onClick={() => props.onMove(-1)} disabled={locked || !props.canMoveUp}
                    data-focus-key={`${uid}-up`}
                    aria-label={t("flows.moveUp", { q: title })}>↑</button>
            <button type="button" className="ghost small" onClick={() => props.onMove(1)} disabled={locked || index === count - 1}
                    data-focus-key={`${uid}-down`}
                    aria-label={t("flows.moveDown", { q: title })}>↓</button>
            <button type="button" className="ghost small danger" onClick={props.onRemove} disabled={locked}
                    aria-label={t("flows.removeQ", { q: title })}>{t("flows.remove")}</button>
          </span>
        )}
      </div>
      {expanded && (
        <fieldset id={`${uid}-body`} className="flow-q-body" disabled={!editable}>
          <legend className="sr-only">{title}</legend>
          {leftover.length > 0 && <p className="field-error">{leftover.join(" ")}</p>}
          <div className="flow-grid">
            <label className="flow-field wide">
              <span>{t("flows.promptEs")}</span>
              <input id={`${uid}-prompt-es`} type="text" value={q.prompt.es} aria-invalid={!!(err("prompt/es") || err("prompt"))}
                     aria-describedby={`${uid}-prompt-es-err`} onChange={(e) => set({ prompt: { ...q.prompt, es: e.target.value } })} />
              <FieldError id={`${uid}-prompt-es-err`} messages={[...(err("prompt") ?? []), ...(err("prompt/es") ?? [])]} />
            </label>
            <label className="flow-field wide">
              <span>{t("flows.promptEn")}</span>
              <input id={`${uid}-prompt-en`} type="text" value={q.prompt.en ?? ""} aria-invalid={!!err("prompt/en")}
                     aria-describedby={`${uid}-prompt-en-err`}
                     onChange={(e) => {
                       const prompt: I18nText = { ...q.prompt, en: e.target.value };
                       if (!e.target.value) delete prompt.en;
                       set({ prompt });
                     }} />
              <FieldError id={`${uid}-prompt-en-err`} messages={err("prompt/en")} />
            </label>
            <label className="flow-field">
              <span>{t("flows.type")}</span>
              <select value={q.type} aria-invalid={!!err("type")} aria-describedby={`${uid}-type-err`}
                      onChange={(e) => {
                        const type = e.target.value as QuestionType;
                        const next: Question = { ...q, type };
                        if ((type === "choice" || type === "multichoice") && !next.choices?.length) {
                          next.choices = [{ value: "", label: { es: "" } }];
                        }
                        if (type !== "choice" && type !== "multichoice") delete next.choices;
                        props.onChange(next);
                      }}>
                {TYPES.map((type) => <option key={type} value={type}>{typeLabel(t, type)}</option>)}
              </select>
              <FieldError id={`${uid}-type-err`} messages={err("type")} />
            </label>
            <label className="flow-field">
              <span>{t("flows.field")}</span>
              <input type="text" value={q.field} spellCheck={false} autoCapitalize="off" aria-invalid={!!err("field")}
                     aria-describedby={`${uid}-field-hint ${uid}-field-err`} onChange={(e) => set({ field: e.target.value })} />
              <span className="muted small" id={`${uid}-field-hint`}>{t("flows.fieldHint")}</span>
              <FieldError id={`${uid}-field-err`} messages={err("field")} />
            </label>
            <label className="flow-check">
              <input type="checkbox" checked={q.required !== false} onChange={(e) => set({ required: e.target.checked })} />
              <span>{t("flows.required")}</span>
            </label>
          </div>

          {choices && (
            <fieldset className="flow-choices" aria-describedby={`${uid}-choices-err`}>
              <legend>{t("flows.choices")}</legend>
              <FieldError id={`${uid}-choices-err`} messages={errsUnder("choices")} />
              {(q.choices ?? []).map((c, i) => (
                <div key={i} className="flow-choice">
                  <label className="flow-field">
                    <span>{t("flows.choiceLabelEs")}</span>
                    <input type="text" value={c.label.es} aria-invalid={!!errsUnder(`choices/${i}`).length}
                           onChange={(e) => setChoice(i, { ...c, label: { ...c.label, es: e.target.value } })} />
                  </label>
                  <label className="flow-field">
                    <span>{t("flows.choiceLabelEn")}</span>
                    <input type="text" value={c.label.en ?? ""}
                           onChange={(e) => {
                             const label: I18nText = { ...c.label, en: e.target.value };
                             if (!e.target.value) delete label.en;
                             setChoice(i, { ...c, label });
                           }} />
                  </label>
                  <label className="flow-field">
                    <span>{t("flows.choiceValue")}</span>
                    <input type="text" value={c.value} spellCheck={false} aria-invalid={!!errsUnder(`choices/${i}`).length}
                           onChange={(e) => setChoice(i, { ...c, value: e.target.value })} />
                  </label>
                  <label className="flow-field wide">
                    <span>{t("flows.synonyms")}</span>
                    <input type="text" value={(c.synonyms ?? []).join(", ")}
                           onChange={(e) => {
                             const synonyms = e.target.value.split(",").map((s) => s.trim()).filter(Boolean);
                             const next: Choice = { ...c, synonyms };
                             if (!synonyms.length) delete next.synonyms;
                             setChoice(i, next);
                           }} />
                  </label>
                  <button type="button" className="ghost small danger" onClick={() => set({ choices: (q.choices ?? []).filter((_, j) => j !== i) })}
                          aria-label={t("flows.removeChoice", { c: c.label.es || c.value || String(i + 1) })}>✕</button>
                </div>
              ))}
              <button type="button" className="ghost small" onClick={() => set({ choices: [...(q.choices ?? []), { value: "", label: { es: "" } }] })}>
                + {t("flows.addChoice")}
              </button>
            </fieldset>
          )}

          {(numeric || textual) && (
            <fieldset className="flow-validation">
              <legend>{t("flows.validationTitle")}</legend>
              <div className="flow-grid">
                {numeric && numberInput("min", "flows.validation.min")}
                {numeric && numberInput("max", "flows.validation.max")}
                {textual && numberInput("min_length", "flows.validation.min_length", true)}
                {textual && numberInput("max_length", "flows.validation.max_length", true)}
                {textual && (
                  <label className="flow-field wide">
                    <span>{t("flows.validation.pattern")}</span>
                    <input type="text" spellCheck={false} value={q.validation?.pattern ?? ""} aria-describedby={`${uid}-v-err`}
                           aria-invalid={!!err("validation/pattern")} placeholder="^[A-Z]{2}\d+$"
                           onChange={(e) => setValidation({ pattern: e.target.value || undefined })} />
                  </label>
                )}
              </div>
              <FieldError id={`${uid}-v-err`} messages={errsUnder("validation")} />
            </fieldset>
          )}

          <details className="flow-help" open={!!(q.help?.es || q.help?.en)}>
            <summary>{t("flows.helpTitle")}</summary>
            <div className="flow-grid">
              {(["es", "en"] as const).map((l) => (
                <label key={l} className="flow-field wide">
                  <span>{t(l === "es" ? "flows.helpEs" : "flows.helpEn")}</span>
                  <input type="text" value={q.help?.[l] ?? ""} aria-invalid={!!errsUnder("help").length}
                         onChange={(e) => {
                           const help = { es: q.help?.es ?? "", ...(q.help?.en ? { en: q.help.en } : {}), [l]: e.target.value };
                           const next: Question = { ...q, help };
                           if (!help.es && !help.en) delete next.help;
                           props.onChange(next);
                         }} />
                </label>
              ))}
            </div>
            <FieldError id={`${uid}-help-err`} messages={errsUnder("help")} />
          </details>

          <QuestionRules question={q} index={index} questions={props.questions} skip={props.skip} branches={props.branches}
                         editable={editable} skipErrors={props.skipErrors} branchErrors={props.branchErrors}
                         onSkip={props.onSkip} onBranches={props.onBranches} />
        </fieldset>
      )}
    </li>
  );
}
