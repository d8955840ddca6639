/** What the console knows, built from the monitor socket's frames.
 *
 * The live list merges REST pages with `conversation.updated`; each watched
 * conversation is rebuilt from its replay and live frames. Persisted frames
 * are applied once (by `seq`), streamed text once (by `offset`), so a replay
 * after a reconnect changes nothing that was already right.
 */
import { useSyncExternalStore } from "react";

import type { Summary } from "./api";
import type { Frame } from "./monitor";

export type Entry = {
  id: string;
  kind: "turn" | "handoff";
  role: "lead" | "assistant" | "agent" | "system";
  text: string;
  streaming: boolean;
  stopped: boolean;
  flagged: boolean;
  agentName?: string;
  active?: boolean;
};

export type Note = { id: string; text: string; author: string; created: string };

export type ConversationState = {
  id: string;
  entries: Entry[];
  notes: Note[];
  seq: number;
  step: string | null;
  progress: number | null;
  answers: Record<string, unknown>;
  owner: { active: boolean; name?: string };
  watchers: { user: string; name: string }[];
  typingUntil: number;
  strategy: { status: string; pdf_url?: string | null } | null;
  qualificationSeq: number;
};

type Announcer = (entry: Entry, conversation: string) => void;

function emptyConversation(id: string): ConversationState {
  return {
    id, entries: [], notes: [], seq: 0, step: null, progress: null, answers: {}, owner: { active: false },
    watchers: [], typingUntil: 0, strategy: null, qualificationSeq: 0,
  };
}

class Store {
  summaries = new Map<string, Summary>();
  unread = new Map<string, number>();
  conversations = new Map<string, ConversationState>();
  openId: string | null = null;
  private listeners = new Set<() => void>();
  private version = 0;
  private announcer: Announcer | null = null;
  // Frames that arrive right after a subscribe are its replay: not announced.
  private quietUntil = new Map<string, number>();

  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = () => this.version;

  private changed(): void {
    this.version += 1;
    for (const fn of this.listeners) fn();
  }

  setAnnouncer(fn: Announcer | null): void {
    this.announcer = fn;
  }

  reset(): void {
    this.summaries.clear();
    this.unread.clear();
    this.conversations.clear();
    this.openId = null;
    this.changed();
  }

  /** Summaries from a REST page: a live update of the same moment wins, and
   * the REST summaries carry no owner name, so a known one is kept. */
  mergeSummaries(items: Summary[]): void {
    for (const item of items) {
      const known = this.summaries.get(item.id);
      if (known && known.updated_at >= item.updated_at) continue;
      const keepName = known?.owner.kind === "staff" && item.owner.kind === "staff" && !item.owner.name;
      this.summaries.set(item.id, keepName ? { ...item, owner: known!.owner } : item);
    }
    this.changed();
  }

  open(id: string | null): void {
    this.openId = id;
    if (id) {
      this.unread.delete(id);
      this.quietUntil.set(id, Date.now() + 1500);
    }
    this.changed();
  }

  conversation(id: string): ConversationState {
    let state = this.conversations.get(id);
    if (!state) {
      state = emptyConversation(id);
      this.conversations.set(id, state);
    }
    return state;
  }

  handle(frame: Frame): void {
    if (frame.type === "conversation.updated") {
      this.updated(frame.conversation as Summary);
      return;
    }
    if (typeof frame.conversation !== "string") return;
    const id = frame.conversation;
    const before = this.conversations.get(id) ?? emptyConversation(id);
    const next = this.apply(before, frame);
    if (next !== before) {
      this.conversations.set(id, next);
      this.changed();
    }
  }

  private updated(summary: Summary): void {
    const known = this.summaries.get(summary.id);
    const newMessage = summary.last_message?.at && summary.last_message.at !== known?.last_message?.at;
    this.summaries.set(summary.id, summary);
    if (newMessage && summary.id !== this.openId) this.unread.set(summary.id, (this.unread.get(summary.id) ?? 0) + 1);
    this.changed();
  }

  private announce(conversation: string, entry: Entry): void {
    if (conversation !== this.openId) return;
    if (Date.now() < (this.quietUntil.get(conversation) ?? 0)) return;
    this.announcer?.(entry, conversation);
  }

  private apply(s: ConversationState, f: Frame): ConversationState {
    const seq = typeof f.seq === "number" ? f.seq : null;
    if (seq !== null) {
      if (seq <= s.seq) return s; // already applied (a replay after a reconnect)
      s = { ...s, seq };
    }
    const turn = typeof f.turn === "string" ? f.turn : "";
    const find = () => s.entries.findIndex((e) => e.id === turn);
    const put = (index: number, entry: Entry) => {
      const entries = s.entries.slice();
      if (index < 0) entries.push(entry);
      else entries[index] = entry;
      s = { ...s, entries };
    };
    const agentName = (f.agent as { name?: string } | undefined)?.name;
    switch (f.type) {
      case "message": {
        if (find() >= 0) return s;
        const entry: Entry = { id: turn, kind: "turn", role: "lead", text: String(f.text ?? ""), streaming: false,
                               stopped: false, flagged: false };
        put(-1, entry);
        this.announce(s.id, entry);
        return { ...s, typingUntil: 0 };
      }
      case "turn.started": {
        if (find() >= 0) return s;
        put(-1, { id: turn, kind: "turn", role: f.role as Entry["role"], text: "", streaming: true, stopped: false,
                  flagged: false, agentName });
        return s;
      }
      case "turn.delta": {
        const index = find();
        const entry = index >= 0 ? s.entries[index]
          : { id: turn, kind: "turn" as const, role: "assistant" as const, text: "", streaming: true, stopped: false,
              flagged: false };
        if (!entry.streaming) return s;
        const offset = Number(f.offset), text = String(f.text ?? "");
        // Keep only what extends the text we have; a gap would corrupt it, so wait for the completion.
        if (offset > entry.text.length || offset + text.length <= entry.text.length) return s;
        put(index, { ...entry, text: entry.text.slice(0, offset) + text });
        return s;
      }
      case "turn.completed": {
        const index = find();
        const base = index >= 0 ? s.entries[index] : null;
        const entry: Entry = { id: turn, kind: "turn", role: f.role as Entry["role"], text: String(f.text ?? ""),
                               streaming: false, stopped: Boolean(f.stopped), flagged: base?.flagged ?? false,
                               agentName: agentName ?? base?.agentName };
        put(index, entry);
        this.announce(s.id, entry);
        return s;
      }
      case "qualification":
        return { ...s, step: String(f.step), progress: Number(f.progress), answers: (f.answers as Record<string, unknown>) ?? {},
                 qualificationSeq: seq ?? s.qualificationSeq };
      case "handoff": {
        const active = Boolean(f.active);
        const entry: Entry = { id: `handoff-${seq}`, kind: "handoff", role: "system", text: "", streaming: false,
                               stopped: false, flagged: false, active, agentName };
        put(-1, entry);
        // A takeover cuts the assistant mid-stream; its completion (stopped) follows.
        return { ...s, owner: active ? { active, name: agentName } : { active: false } };
      }
      case "note": {
        if (s.notes.some((n) => n.id === f.id)) return s;
        const author = (f.author as { name?: string } | undefined)?.name ?? "";
        return { ...s, notes: [...s.notes, { id: String(f.id), text: String(f.text), author, created: String(f.created) }] };
      }
      case "presence":
        return { ...s, watchers: (f.watchers as ConversationState["watchers"]) ?? [] };
      case "typing":
        return { ...s, typingUntil: Date.now() + 5000 };
      case "strategy":
        return { ...s, strategy: { status: String(f.status), pdf_url: (f.pdf_url as string | undefined) ?? null } };
      case "flagged": {
        const index = find();
        if (index < 0) return s;
        put(index, { ...s.entries[index], flagged: true });
        return s;
      }
      default:
        return s;
    }
  }
}

export const store = new Store();

/** Re-render on every store change (the store is small; React batches). */
export function useStore(): Store {
  useSyncExternalStore(store.subscribe, store.getVersion);
  return store;
}
