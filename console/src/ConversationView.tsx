import { useEffect, useLayoutEffect, useRef, useState } from "react";

import { api, atLeast, type Me, type Summary } from "./api";
import { initials } from "./App";
import { relativeTime, stepLabel } from "./ConversationList";
import { useI18n, type Key } from "./i18n";
import { LeadPanel } from "./LeadPanel";
import type { Frame, MonitorSocket } from "./monitor";
import { useStore, type Entry } from "./store";

type Props = { id: string; me: Me; socket: MonitorSocket; onBack: () => void; resyncs: number };

type Alert = { kind: "error" | "info"; text: string };

export function ConversationView({ id, me, socket, onBack, resyncs }: Props) {
  const { t, lang } = useI18n();
  const store = useStore();
  const state = store.conversation(id);
  const summary = store.summaries.get(id);
  const [alert, setAlert] = useState<Alert | null>(null);
  const [mine, setMine] = useState(false);
  const [pending, setPending] = useState<"takeover" | "release" | null>(null);
  const canAct = atLeast(me.role, "agent");
  const isAdmin = atLeast(me.role, "admin");
  const [, tick] = useState(0);
  const titleRef = useRef<HTMLHeadingElement>(null);

  // Keyboard and screen-reader users land on the conversation they opened.
  useEffect(() => titleRef.current?.focus({ preventScroll: true }), [id]);

  // The summary (lead id, status) for a conversation opened by its URL; again after a resync.
  const tRef = useRef(t);
  tRef.current = t;
  useEffect(() => {
    api<Summary>(`conversations/${id}/`).then(
      (s) => store.mergeSummaries([s]),
      () => setAlert({ kind: "error", text: tRef.current("error.not_found") }),
    );
  }, [store, id, resyncs]);

  // Who owns it: my own takeover.ok, or the last handoff frame (after a reload).
  const owner = state.owner;
  useEffect(() => {
    if (!owner.active) setMine(false);
    else if (owner.name && owner.name === me.user.name) setMine(true);
    else if (owner.name && owner.name !== me.user.name) setMine(false);
  }, [owner.active, owner.name, me.user.name]);

  // Replies to our actions; socket errors are not tagged with a conversation.
  useEffect(() => socket.onFrame((frame: Frame) => {
    if (frame.type === "takeover.ok" && frame.conversation === id) {
      setMine(true);
      setPending(null);
      setAlert(null);
    } else if (frame.type === "release.ok" && frame.conversation === id) {
      setMine(false);
      setPending(null);
    } else if (frame.type === "error") {
      setPending(null);
      const code = String(frame.code);
      const known = ["already_owned", "forbidden", "not_found"].includes(code);
      setAlert({ kind: "error", text: known ? t(`error.${code}` as Key) : t("error.generic", { message: String(frame.message) }) });
    }
  }), [socket, id, t]);

  // The typing indicator expires by itself.
  useEffect(() => {
    if (state.typingUntil <= Date.now()) return;
    const timer = window.setTimeout(() => tick((n) => n + 1), state.typingUntil - Date.now() + 50);
    return () => window.clearTimeout(timer);
  }, [state.typingUntil]);

  const send = (frame: Frame) => {
    if (!socket.send(frame)) setAlert({ kind: "error", text: t("conn.offline") });
  };
  const takeover = () => {
    setPending("takeover");
    setAlert(null);
    send({ type: "takeover", conversation: id });
  };
  const release = () => {
    setPending("release");
    send({ type: "release", conversation: id });
  };

  const name = summary?.lead_name || t("list.anonymous");
  const typing = state.typingUntil > Date.now();
  const others = state.watchers.filter((w) => w.user !== me.user.id);
  const step = state.step ?? summary?.step;

  return (
    <div className="conversation">
      <section className="chat" aria-labelledby="conv-title">
        <header className="chat-head">
          <button type="button" className="ghost back" onClick={onBack} aria-label={t("conv.back")}>
            <svg viewBox="0 0 20 20" aria-hidden="true"><path d="M12.7 4.3 7 10l5.7 5.7-1.06 1.06L4.9 10l6.74-6.76z" fill="currentColor" /></svg>
          </button>
          <div className="chat-title">
            <h2 id="conv-title" tabIndex={-1} ref={titleRef}>{name}</h2>
            <p className="muted small chat-sub">
              {summary && <span className={`status ${summary.status}`}>{t(`status.${summary.status}` as Key)}</span>}
              {step && <span> · {t("conv.step", { step: stepLabel(t, step) })}</span>}
              {summary && <span> · {t("conv.started", { when: relativeTime(summary.created, lang) })}</span>}
            </p>
          </div>
          <div className="presence" aria-label={t("conv.watchers")}>
            {others.length === 0 ? (
              <span className="muted small alone">{t("conv.onlyYou")}</span>
            ) : (
              <>
                <span className="muted small">{t("conv.watchers")}:</span>
                {others.map((w) => (
                  <span key={w.user} className="avatar" title={w.name} data-watcher={w.name}>{initials(w.name)}</span>
                ))}
                <span className="sr-only">{others.map((w) => w.name).join(", ")}</span>
              </>
            )}
          </div>
          <div className="actions">
            {canAct ? (
              mine || (owner.active && isAdmin) ? (
                <button type="button" className="secondary" onClick={release} disabled={pending !== null}>
                  {t("conv.release")}
                </button>
              ) : (
                <button type="button" className="primary" onClick={takeover} disabled={pending !== null}>
                  {t("conv.takeover")}
                </button>
              )
            ) : null}
          </div>
        </header>
        {owner.active && (
          <p className={mine ? "banner mine" : "banner"} role="status">
            {mine ? t("owner.you") : t("conv.ownedByOther", { name: owner.name || t("role.agent") })}
          </p>
        )}
        {!canAct && <p className="banner subtle">{t("conv.viewerHint")}</p>}
        {alert && (
          <div className={`alert ${alert.kind}`} role="alert">
            <span>{alert.text}</span>
            <button type="button" className="ghost small" onClick={() => setAlert(null)} aria-label="×">×</button>
          </div>
        )}
        <Transcript entries={state.entries} />
        <div className="typing" aria-hidden={!typing}>
          {typing && (<><span className="dots" aria-hidden="true"><i /><i /><i /></span>{t("conv.typing")}</>)}
        </div>
        {canAct && <Composer id={id} enabled={mine} send={send} />}
      </section>
      <div className="side">
        <LeadPanel conversation={id} leadId={summary?.lead_id ?? null} state={state} resyncs={resyncs} />
        <Notes notes={state.notes} canWrite={canAct} onAdd={(text) => send({ type: "note", conversation: id, text })} />
      </div>
    </div>
  );
}

function Transcript({ entries }: { entries: Entry[] }) {
  const { t } = useI18n();
  const ref = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  // The replay has no end marker: an empty one is told apart from a slow one by time.
  const [waited, setWaited] = useState(false);
  useEffect(() => {
    const timer = window.setTimeout(() => setWaited(true), 2000);
    return () => window.clearTimeout(timer);
  }, []);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });
  if (entries.length === 0) {
    return <div className="transcript loading muted">{t(waited ? "conv.empty" : "conv.loading")}</div>;
  }
  return (
    <ol className="transcript" ref={ref} role="log" aria-label={t("conv.transcript")} tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}>
      {entries.map((entry) => entry.kind === "handoff" ? (
        <li key={entry.id} className="handoff">
          <span>{entry.active ? t("conv.handoffOn", { name: entry.agentName || t("role.agent") }) : t("conv.handoffOff")}</span>
        </li>
      ) : (
        <li key={entry.id} className={`msg ${entry.role}${entry.streaming ? " streaming" : ""}`} data-turn={entry.id}>
          <span className="msg-who">
            {entry.role === "agent" ? entry.agentName || t("role.agent") : t(`role.${entry.role}` as Key)}
            {entry.stopped && <span className="tag">{t("conv.stopped")}</span>}
            {entry.flagged && <span className="tag warn">{t("conv.flagged")}</span>}
          </span>
          <span className="msg-text">{entry.text}{entry.streaming && <span className="caret" aria-hidden="true" />}</span>
        </li>
      ))}
    </ol>
  );
}

function Composer({ id, enabled, send }: { id: string; enabled: boolean; send: (frame: Frame) => void }) {
  const { t } = useI18n();
  const [text, setText] = useState("");
  const submit = () => {
    const value = text.trim();
    if (!value || !enabled) return;
    send({ type: "message", conversation: id, text: value });
    setText("");
  };
  return (
    <form className="composer" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label className="sr-only" htmlFor="reply">{t("conv.replyLabel")}</label>
      <textarea id="reply" rows={2} value={text} disabled={!enabled} maxLength={2000}
                placeholder={enabled ? t("conv.replyPlaceholder") : t("conv.takeoverToReply")}
                onChange={(e) => setText(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === "Enter" && !e.shiftKey) {
                    e.preventDefault();
                    submit();
                  }
                }} />
      <button type="submit" className="primary" disabled={!enabled || !text.trim()}>{t("conv.send")}</button>
    </form>
  );
}

function Notes({ notes, canWrite, onAdd }: { notes: { id: string; text: string; author: string; created: string }[];
  canWrite: boolean; onAdd: (text: string) => void }) {
  const { t, lang } = useI18n();
  const [text, setText] = useState("");
  return (
    <section className="card notes" aria-labelledby="notes-title">
      <h3 id="notes-title">
        <svg viewBox="0 0 20 20" aria-hidden="true"><path d="M6 8V6a4 4 0 1 1 8 0v2h1a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1h1Zm1.5 0h5V6a2.5 2.5 0 0 0-5 0v2Z" fill="currentColor" /></svg>
        {t("notes.title")}
      </h3>
      <p className="small notes-hint">{t("notes.private")}</p>
      <ul className="note-list">
        {notes.length === 0 && <li className="muted small">{t("notes.empty")}</li>}
        {notes.map((n) => (
          <li key={n.id} className="note">
            <p>{n.text}</p>
            <span className="muted small">{n.author} · {relativeTime(n.created, lang)}</span>
          </li>
        ))}
      </ul>
      {canWrite ? (
        <form onSubmit={(e) => {
          e.preventDefault();
          if (!text.trim()) return;
          onAdd(text.trim());
          setText("");
        }}>
          <label className="sr-only" htmlFor="note">{t("notes.new")}</label>
          <textarea id="note" rows={2} value={text} maxLength={5000} placeholder={t("notes.placeholder")}
                    onChange={(e) => setText(e.target.value)} />
          <button type="submit" className="secondary small" disabled={!text.trim()}>{t("notes.add")}</button>
        </form>
      ) : (
        <p className="muted small">{t("notes.readonly")}</p>
      )}
    </section>
  );
}
