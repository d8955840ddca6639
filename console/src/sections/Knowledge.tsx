import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";

import { ApiError, atLeast, FieldsError, firstFieldMessage } from "../api";
import { useI18n, type Translate } from "../i18n";
import type { SectionProps } from "../sections";
import {
  ACCEPT, deleteDocument, listDocuments, MAX_BYTES, refusal, replaceDocument, searchKnowledge, uploadDocument,
  type KnowledgeDocument, type SearchHit,
} from "./knowledge.api";
import "./Knowledge.css";

type UploadState = "waiting" | "uploading" | "done" | "same" | "error";
// Messages are kept as functions of the translator, so switching language re-renders them.
type Say = (t: Translate) => string;
type Upload = { key: number; name: string; size: number; state: UploadState; progress: number; error?: Say; doc?: string };

const MB = MAX_BYTES / (1024 * 1024);
// Uploads in flight at once: enough to overlap, few enough not to choke a slow uplink.
const PARALLEL = 2;

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The message for a refused upload: the API's code in the console's language. */
function uploadError(err: unknown, size: number): Say {
  return (t) => uploadErrorText(t, err, size);
}

function uploadErrorText(t: Translate, err: unknown, size: number): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return t("kb.err.network");
    // The extension was checked before sending: the API refusing the type means the content.
    if (err.code === "unsupported_type") return t("kb.err.content");
    if (err.code === "file_too_large" || err.status === 413) return t("kb.err.size", { size: formatSize(size), mb: MB });
    if (err.code === "empty_file") return t("kb.err.empty");
    if (err.code === "duplicate_document") return t("kb.err.duplicate");
    if (err.code === "vector_store_unavailable") return t("kb.err.store");
    const field = err instanceof FieldsError ? firstFieldMessage(err.fields.file) : undefined;
    return t("kb.err.generic", { message: field && !/^[a-z_]+$/.test(field) ? field : err.message });
  }
  return t("kb.err.generic", { message: String(err) });
}

function localRefusal(file: File): Say | null {
  const why = refusal(file);
  if (why === "type") return (t) => t("kb.err.type");
  if (why === "size") return (t) => t("kb.err.size", { size: formatSize(file.size), mb: MB });
  if (why === "empty") return (t) => t("kb.err.empty");
  return null;
}

/** Polls the documents while any is queued or indexing (or an upload just ended):
 * every 2 s at first, then every 5 s, and not at all while the tab is hidden. */
function useDocuments() {
  const [docs, setDocs] = useState<KnowledgeDocument[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [nudge, setNudge] = useState(0);
  const reload = useCallback(() => setNudge((n) => n + 1), []);
  const busySince = useRef<number | null>(null);

  useEffect(() => {
    let stopped = false;
    listDocuments().then((list) => {
      if (!stopped) { setDocs(list); setError(null); }
    }, (err) => { if (!stopped) setError(err instanceof Error ? err.message : String(err)); });
    return () => { stopped = true; };
  }, [nudge]);

  const pending = (docs ?? []).some((d) => d.status === "queued" || d.status === "indexing");
  useEffect(() => {
    if (!pending) {
      busySince.current = null;
      return;
    }
    busySince.current ??= Date.now();
    const wait = Date.now() - busySince.current < 30_000 ? 2000 : 5000;
    const timer = window.setTimeout(() => {
      if (document.visibilityState === "visible") reload();
      else document.addEventListener("visibilitychange", reload, { once: true });
    }, wait);
    return () => {
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", reload);
    };
  }, [pending, docs, reload]);

  return { docs, setDocs, error, reload, pending };
}

export function Knowledge({ me }: SectionProps) {
  const { t } = useI18n();
  const canEdit = atLeast(me.role, "admin");
  const { docs, setDocs, error, reload, pending } = useDocuments();
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [announce, setAnnounce] = useState("");
  const queue = useRef<{ key: number; file: File }[]>([]);
  const active = useRef(0);
  const nextKey = useRef(1);
  const known = useRef(new Set<string>());
  known.current = new Set((docs ?? []).map((d) => d.id));
  const titles = useMemo(() => new Map((docs ?? []).map((d) => [d.id, d.title])), [docs]);

  const patch = useCallback((key: number, change: Partial<Upload>) => {
    setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...change } : u)));
  }, []);

  const pump = useCallback(() => {
    while (active.current < PARALLEL && queue.current.length) {
      const { key, file } = queue.current.shift()!;
      active.current += 1;
      patch(key, { state: "uploading", progress: 0 });
      uploadDocument(file, (progress) => patch(key, { progress })).then((doc) => {
        const same = known.current.has(doc.id);
        patch(key, { state: same ? "same" : "done", progress: 1, doc: doc.id });
        setDocs((list) => (list && !list.some((d) => d.id === doc.id) ? [doc, ...list] : list));
      }, (err) => patch(key, { state: "error", error: uploadError(err, file.size) })).finally(() => {
        active.current -= 1;
        reload();
        pump();
      });
    }
  }, [patch, reload, setDocs]);

  const addFiles = useCallback((files: File[]) => {
    const added: Upload[] = [];
    for (const file of files) {
      const key = nextKey.current++;
      const refused = localRefusal(file);
      added.push({ key, name: file.name, size: file.size, state: refused ? "error" : "waiting", progress: 0,
                   error: refused ?? undefined });
      if (!refused) queue.current.push({ key, file });
    }
    setUploads((list) => [...added, ...list]);
    pump();
  }, [pump]);

  return (
    <main id="main" className="page kb" tabIndex={-1}>
      <div className="page-inner">
        <div className="page-head">
          <div>
            <h1>{t("kb.title")}</h1>
            <p className="muted">{t("kb.subtitle")}</p>
          </div>
        </div>
        {canEdit ? <DropZone onFiles={addFiles} /> : <p className="kb-readonly card">{t("kb.readOnly")}</p>}
        {uploads.length > 0 && (
          <UploadList uploads={uploads} docs={docs ?? []}
                      onClear={() => setUploads((list) => list.filter((u) => u.state === "waiting" || u.state === "uploading"))} />
        )}
        <Documents docs={docs} error={error} pending={pending} canEdit={canEdit} onChanged={reload}
                   onDeleted={(doc) => {
                     setDocs((list) => list?.filter((d) => d.id !== doc.id) ?? list);
                     setAnnounce(t("kb.deleted", { title: doc.title }));
                   }} />
        <Search titles={titles} />
      </div>
      <div className="sr-only" role="status" aria-live="polite">{announce}</div>
    </main>
  );
}

function DropZone({ onFiles }: { onFiles: (files: File[]) => void }) {
  const { t } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const depth = useRef(0);
  const hintId = useId();
  return (
    <section className={`card kb-drop${over ? " over" : ""}`} aria-label={t("kb.drop.label")}
             onDragEnter={(e) => { e.preventDefault(); depth.current += 1; setOver(true); }}
             onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; }}
             onDragLeave={() => { depth.current -= 1; if (depth.current <= 0) { depth.current = 0; setOver(false); } }}
             onDrop={(e) => {
               e.preventDefault();
               depth.current = 0;
               setOver(false);
               const files = Array.from(e.dataTransfer.files);
               if (files.length) onFiles(files);
             }}>
      <svg className="kb-drop-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
        <path d="M12 16V4m0 0-4.5 4.5M12 4l4.5 4.5M4 15v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3" fill="none"
              stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
      <div className="kb-drop-text">
        <strong>{over ? t("kb.drop.release") : t("kb.drop.title")}</strong>
        <span className="muted small" id={hintId}>{t("kb.drop.hint", { mb: MB })}</span>
      </div>
      <button type="button" className="primary" aria-describedby={hintId} onClick={() => input.current?.click()}>
        {t("kb.drop.choose")}
      </button>
      <input ref={input} type="file" multiple accept={ACCEPT} hidden data-testid="kb-file-input"
             onChange={(e) => {
               const files = Array.from(e.target.files ?? []);
               e.target.value = "";
               if (files.length) onFiles(files);
             }} />
    </section>
  );
}

function UploadList({ uploads, docs, onClear }: { uploads: Upload[]; docs: KnowledgeDocument[]; onClear: () => void }) {
  const { t } = useI18n();
  const status = new Map(docs.map((d) => [d.id, d.status]));
  // An uploaded file follows its document: indexing, then ready (or failed, with the reason in the list).
  const after = (u: Upload) => {
    const s = u.doc ? status.get(u.doc) : undefined;
    if (u.state === "done" && s === "ready") return t("kb.up.ready");
    if (u.state === "done" && s === "failed") return t("kb.up.failed");
    return t(`kb.up.${u.state as "waiting" | "done" | "same"}` as const);
  };
  const finished = uploads.some((u) => u.state !== "waiting" && u.state !== "uploading");
  return (
    <section className="card kb-uploads" aria-labelledby="kb-uploads-title">
      <div className="kb-card-head">
        <h2 id="kb-uploads-title">{t("kb.uploads")}</h2>
        {finished && <button type="button" className="ghost small" onClick={onClear}>{t("kb.uploads.clear")}</button>}
      </div>
      <ul className="kb-upload-list">
        {uploads.map((u) => (
          <li key={u.key} className={`kb-upload ${u.state}`} data-upload={u.name}>
            <span className="kb-upload-name">{u.name}</span>
            <span className="muted small">{formatSize(u.size)}</span>
            <span className="kb-upload-state" role={u.state === "error" ? "alert" : undefined}>
              {u.state === "error" ? u.error?.(t)
                : u.state === "uploading" ? t("kb.up.uploading", { pct: Math.round(u.progress * 100) })
                : after(u)}
            </span>
            {(u.state === "uploading" || u.state === "waiting") && (
              <span className="progress" role="progressbar" aria-label={u.name} aria-valuemin={0} aria-valuemax={100}
                    aria-valuenow={Math.round(u.progress * 100)}>
                <span style={{ width: `${Math.round(u.progress * 100)}%` }} />
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Documents({ docs, error, pending, canEdit, onChanged, onDeleted }: {
  docs: KnowledgeDocument[] | null; error: string | null; pending: boolean; canEdit: boolean;
  onChanged: () => void; onDeleted: (doc: KnowledgeDocument) => void;
}) {
  const { t } = useI18n();
  return (
    <section className="card kb-docs" aria-labelledby="kb-docs-title" aria-busy={docs === null}>
      <div className="kb-card-head">
        <h2 id="kb-docs-title">{t("kb.docs")}</h2>
        {docs && docs.length > 0 && (
          <span className="muted small">{docs.length === 1 ? t("kb.docs.one") : t("kb.docs.count", { n: docs.length })}</span>
        )}
        {pending && <span className="kb-live small" role="status"><span className="dot" aria-hidden="true" />{t("kb.docs.live")}</span>}
      </div>
      {error && <p className="form-error" role="alert">{t("kb.err.generic", { message: error })}</p>}
      {docs === null ? (
        !error && <p className="muted">{t("kb.docs.loading")}</p>
      ) : docs.length === 0 ? (
        <p className="muted kb-empty">{t("kb.docs.empty")}</p>
      ) : (
        <table className="kb-table">
          <thead>
            <tr>
              <th scope="col">{t("kb.col.document")}</th>
              <th scope="col">{t("kb.col.status")}</th>
              <th scope="col" className="num">{t("kb.col.chunks")}</th>
              <th scope="col" className="kb-col-updated">{t("kb.col.updated")}</th>
              {canEdit && <th scope="col" className="kb-col-actions"><span className="sr-only">{t("kb.col.actions")}</span></th>}
            </tr>
          </thead>
          <tbody>
            {docs.map((doc) => <DocumentRow key={doc.id} doc={doc} canEdit={canEdit} onChanged={onChanged}
                                            onDeleted={onDeleted} />)}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DocumentRow({ doc, canEdit, onChanged, onDeleted }: {
  doc: KnowledgeDocument; canEdit: boolean; onChanged: () => void; onDeleted: (doc: KnowledgeDocument) => void;
}) {
  const { t, lang } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const deleteRef = useRef<HTMLButtonElement>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; say: Say } | null>(null);
  const replacedRef = useRef(false);
  // "Replaced: indexing" turns into "new version ready" once the document says so.
  useEffect(() => {
    if (replacedRef.current && doc.status === "ready") {
      replacedRef.current = false;
      setMessage({ kind: "ok", say: (tr) => tr("kb.up.replacedReady") });
    }
  }, [doc.status, doc.sha256]);

  useEffect(() => { if (confirming) confirmRef.current?.focus(); }, [confirming]);

  async function replace(file: File) {
    const refused = localRefusal(file);
    if (refused) {
      setMessage({ kind: "error", say: refused });
      return;
    }
    setBusy(true);
    setMessage(null);
    setProgress(0);
    try {
      await replaceDocument(doc.id, file, setProgress);
      setMessage({ kind: "ok", say: (tr) => tr("kb.up.replaced") });
      replacedRef.current = true;
    } catch (err) {
      setMessage({ kind: "error", say: uploadError(err, file.size) });
    } finally {
      setBusy(false);
      setProgress(null);
      onChanged();
    }
  }

  async function remove() {
    setBusy(true);
    try {
      await deleteDocument(doc.id);
      onDeleted(doc);
    } catch (err) {
      setBusy(false);
      setConfirming(false);
      setMessage({ kind: "error", say: uploadError(err, 0) });
    }
  }

  const updated = new Date(doc.updated);
  return (
    <tr data-document={doc.id} data-title={doc.title}>
      <td>
        <div className="kb-doc">
          <span className="kb-doc-title">{doc.title}</span>
          <span className="muted small">
            {doc.filename} · {t(`kb.kind.${doc.kind}` as const)} · {formatSize(doc.size)}
          </span>
          {message && (
            <span className={`kb-row-msg ${message.kind}`} role={message.kind === "error" ? "alert" : "status"}>{message.say(t)}</span>
          )}
          {progress !== null && (
            <span className="progress" role="progressbar" aria-label={t("kb.replace.label", { title: doc.title })}
                  aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(progress * 100)}>
              <span style={{ width: `${Math.round(progress * 100)}%` }} />
            </span>
          )}
          {confirming && (
            <span className="kb-confirm" role="group" aria-label={t("kb.delete.confirm", { title: doc.title })}>
              <span>{t("kb.delete.confirm", { title: doc.title })}</span>
              <button ref={confirmRef} type="button" className="danger small" disabled={busy} onClick={() => void remove()}>
                {t("kb.delete.yes")}
              </button>
              <button type="button" className="ghost small" disabled={busy}
                      onClick={() => { setConfirming(false); deleteRef.current?.focus(); }}>
                {t("kb.delete.no")}
              </button>
            </span>
          )}
        </div>
      </td>
      <td>
        <span className={`pill ${doc.status}`} data-status={doc.status}>{t(`kb.status.${doc.status}` as const)}</span>
        {doc.error && <span className={doc.status === "failed" ? "kb-doc-error" : "muted small kb-doc-note"}>{doc.error}</span>}
      </td>
      <td className="num">{doc.status === "ready" ? doc.chunks : "—"}</td>
      <td className="kb-col-updated muted small">
        <time dateTime={doc.updated}>{updated.toLocaleString(lang === "es" ? "es-ES" : "en-GB",
          { dateStyle: "medium", timeStyle: "short" })}</time>
      </td>
      {canEdit && (
        <td className="kb-col-actions">
          <div className="kb-actions">
            <button type="button" className="secondary small" disabled={busy}
                    aria-label={t("kb.replace.label", { title: doc.title })} onClick={() => input.current?.click()}>
              {t("kb.replace")}
            </button>
            <button ref={deleteRef} type="button" className="ghost small kb-delete" disabled={busy || confirming}
                    aria-label={`${t("kb.delete")}: ${doc.title}`} onClick={() => setConfirming(true)}>
              {t("kb.delete")}
            </button>
          </div>
          <input ref={input} type="file" accept={ACCEPT} hidden data-testid={`kb-replace-${doc.id}`}
                 onChange={(e) => {
                   const file = e.target.files?.[0];
                   e.target.value = "";
                   if (file) void replace(file);
                 }} />
        </td>
      )}
    </tr>
  );
}

/** Strips accents and case, one folded UTF-16 unit per original one, so a match
 * found in the folded text maps straight back onto the original. */
function fold(text: string): string {
  return text.split("").map((c) => (c.normalize("NFD").replace(/\p{M}/gu, "")[0] ?? c).toLowerCase()).join("");
}

/** The chunk's text cut into plain runs and the runs matching a word of the query. */
export function highlight(text: string, query: string): (string | { mark: string })[] {
  const folded = fold(text);
  const terms = [...new Set(fold(query).split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 3))];
  const marked = new Array<boolean>(text.length).fill(false);
  for (const term of terms) {
    for (let at = folded.indexOf(term); at >= 0; at = folded.indexOf(term, at + term.length)) {
      for (let i = at; i < at + term.length; i++) marked[i] = true;
    }
  }
  const out: (string | { mark: string })[] = [];
  let start = 0;
  for (let i = 1; i <= text.length; i++) {
    if (i === text.length || marked[i] !== marked[start]) {
      const run = text.slice(start, i);
      out.push(marked[start] ? { mark: run } : run);
      start = i;
    }
  }
  return out;
}

function Search({ titles }: { titles: Map<string, string> }) {
  const { t } = useI18n();
  const [q, setQ] = useState("");
  const [asked, setAsked] = useState<string | null>(null);
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inputId = useId();
  const errorId = useId();

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const question = q.trim();
    if (!question) return;
    setBusy(true);
    setError(null);
    try {
      const { results } = await searchKnowledge(question);
      setHits(results);
      setAsked(question);
    } catch (err) {
      setError(t("kb.err.generic", { message: err instanceof Error ? err.message : String(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card kb-search" aria-labelledby="kb-search-title">
      <h2 id="kb-search-title">{t("kb.search")}</h2>
      <p className="muted small">{t("kb.search.hint")}</p>
      <form className="kb-search-form" onSubmit={submit} role="search">
        <label htmlFor={inputId} className="sr-only">{t("kb.search.label")}</label>
        <input id={inputId} type="search" value={q} maxLength={2000} placeholder={t("kb.search.placeholder")}
               aria-invalid={error ? true : undefined} aria-describedby={error ? errorId : undefined}
               onChange={(e) => setQ(e.target.value)} />
        <button type="submit" className="primary" disabled={busy || !q.trim()}>
          {busy ? t("kb.search.busy") : t("kb.search.submit")}
        </button>
      </form>
      {error && <p className="form-error" id={errorId} role="alert">{error}</p>}
      {hits !== null && asked !== null && (
        <div aria-live="polite" className="kb-results" data-asked={asked}>
          {hits.length === 0 ? <p className="muted">{t("kb.search.none")}</p> : (
            <>
              <p className="muted small">
                {hits.length === 1 ? t("kb.search.one") : t("kb.search.results", { n: hits.length })}
              </p>
              <ol className="kb-hits">
                {hits.map((hit, rank) => (
                  <li key={`${hit.document_id}:${hit.index}`} className="kb-hit" data-document={hit.document_id}>
                    <div className="kb-hit-head">
                      <span className="kb-rank" aria-label={`${rank + 1}`}>{t("kb.search.rank", { n: rank + 1 })}</span>
                      <span className="kb-hit-doc">{titles.get(hit.document_id) ?? t("kb.search.unknownDoc")}</span>
                      <span className="kb-hit-score muted small">{t("kb.search.score", { score: hit.score.toFixed(3) })}</span>
                    </div>
                    {hit.title && <div className="kb-hit-section small muted">{hit.title}</div>}
                    <p className="kb-hit-text">
                      {highlight(hit.text, asked).map((part, i) =>
                        typeof part === "string" ? <span key={i}>{part}</span> : <mark key={i}>{part.mark}</mark>)}
                    </p>
                  </li>
                ))}
              </ol>
            </>
          )}
        </div>
      )}
    </section>
  );
}
