// The Markezy lead chat widget (CONTRACT §3). One file, no framework:
// a Shadow DOM panel that streams the assistant's reply over a WebSocket,
// resumes after reloads and drops by `seq` and `offset`, and queues what the
// lead types while offline. Every text from the server is rendered as text.
import { css } from "./styles";
import { Lang, Strings, strings } from "./i18n";

type Frame = { [key: string]: any };
type Step = { field: string; type: string; required?: boolean; choices?: { value: string; label: string }[] };
type Config = {
  agency_name?: string; primary_color?: string; greeting?: string; position?: string; locale?: string;
  logo_url?: string | null; privacy_policy?: { url?: string; version?: string }; flow?: { steps?: Step[] };
};
// lastSeq: the newest frame this browser has seen (frames up to it raise no JS API event again).
type Saved = { token?: string; lastSeq: number; queue: { client_id: string; text: string }[] };
type Listener = (data: any) => void;

const script = document.currentScript as HTMLScriptElement | null;
const KEY = script?.dataset.key || "";
const SERVER = (script?.dataset.server || (script ? new URL(script.src, location.href).origin : "")).replace(/\/$/, "");
const STORE = `markezy:${KEY}`;
// A flow preview from the console: the session (the answer of
// POST /api/v1/flows/versions/{id}/preview/) comes in the page's URL fragment
// instead of from /widget/sessions, and nothing is remembered between loads.
const PREVIEW = script?.dataset.preview !== undefined;

const listeners: Record<string, Listener[]> = {};
function emit(event: string, data: any): void {
  (listeners[event] || []).forEach((fn) => {
    try { fn(data); } catch (e) { console.error(e); }
  });
}

function load(): Saved {
  if (PREVIEW) return { lastSeq: 0, queue: [] };
  try {
    const raw = JSON.parse(localStorage.getItem(STORE) || "{}");
    return { token: raw.token, lastSeq: raw.lastSeq || 0, queue: raw.queue || [] };
  } catch {
    return { lastSeq: 0, queue: [] };
  }
}
function save(s: Saved): void {
  if (PREVIEW) return;
  try { localStorage.setItem(STORE, JSON.stringify(s)); } catch { /* private mode: keep in memory */ }
}
function uuid(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b: Uint8Array = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x: number) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
function textColour(hex: string): string {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
  if (!m) return "#fff";
  const n = parseInt(m[1], 16);
  const lin = (c: number) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
  const L = 0.2126 * lin(n >> 16) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  return L > 0.4 ? "#0f172a" : "#fff";
}

class Widget {
  saved = load();
  // The newest frame shown on this page. A page starts empty, so its first
  // socket asks for the whole conversation; a reconnect only for what it missed.
  shown = 0;
  // The frame being handled is new to this browser (not a reload's replay).
  fresh = true;
  config: Config = {};
  t: Strings = strings.es;
  ws: WebSocket | null = null;
  authed = false;
  stopped = false;
  retries = 0;
  step = "";
  answers: Frame = {};
  turns = new Map<string, { node: HTMLElement; text: string; done: boolean }>();
  pending = new Map<string, HTMLElement>();
  qualified = false;
  strategyCard: HTMLElement | null = null;
  openWhenReady = false;
  lastTyping = 0;
  host = el("div");
  root = this.host.attachShadow({ mode: "open" });
  ui = {} as {
    launcher: HTMLButtonElement; greet: HTMLElement; panel: HTMLElement; log: HTMLElement; bar: HTMLElement;
    banner: HTMLElement; chips: HTMLElement; input: HTMLTextAreaElement; send: HTMLButtonElement;
    stop: HTMLButtonElement; live: HTMLElement; title: HTMLElement;
  };

  async start(): Promise<void> {
    const session = await this.session();
    if (!session) return;
    this.render();
    this.connect(session.ws_url);
  }

  async session(): Promise<Frame | null> {
    if (PREVIEW) {
      let body: Frame | null = null;
      try { body = JSON.parse(decodeURIComponent(location.hash.slice(1))); } catch { /* no session in the URL */ }
      if (!body?.visitor_token) { this.stopped = true; return null; }
      this.saved.token = body.visitor_token;
      this.config = body.config || {};
      this.t = strings[(this.config.locale === "en" ? "en" : "es") as Lang];
      return body;
    }
    const lang = (document.documentElement.lang || "").toLowerCase().startsWith("en") ? "en" : undefined;
    const response = await fetch(`${SERVER}/api/v1/widget/sessions?key=${encodeURIComponent(KEY)}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ key: KEY, visitor_token: this.saved.token, page_url: location.href, locale: lang }),
    }).catch(() => null);
    if (!response) { this.later(() => this.start()); return null; }
    if (response.status === 403) { console.warn("Markezy: this site is not allowed for this widget key."); this.stopped = true; return null; }
    if (!response.ok) { this.later(() => this.start()); return null; }
    const body = await response.json();
    if (body.visitor_token !== this.saved.token || !body.resumed) {
      if (!body.resumed) {
        this.saved.lastSeq = this.shown = 0; this.turns.clear(); this.strategyCard = null;
        if (this.ui.log) this.ui.log.textContent = "";
      }
      this.saved.token = body.visitor_token;
      save(this.saved);
    }
    this.config = body.config || {};
    this.t = strings[(this.config.locale === "en" ? "en" : "es") as Lang];
    return body;
  }

  later(fn: () => void): void {
    const delay = Math.min(30000, 1000 * Math.pow(2, this.retries++)) * (0.5 + Math.random() / 2);
    setTimeout(fn, delay);
  }

  connect(url: string): void {
    if (this.stopped) return;
    const ws = (this.ws = new WebSocket(url));
    ws.onopen = () => {
      const auth: Frame = { type: "auth", token: this.saved.token };
      if (this.shown) auth.last_seq = this.shown;
      ws.send(JSON.stringify(auth));
      this.authed = true;
      this.retries = 0;
      this.ui.banner.hidden = true;
      this.flush();
    };
    ws.onmessage = (event) => {
      try { this.onFrame(JSON.parse(String(event.data))); } catch (e) { console.error("Markezy:", e); }
    };
    ws.onclose = (event) => {
      this.authed = false;
      this.ws = null;
      if (event.code === 4403) { this.stopped = true; return; }
      this.showBanner(this.t.reconnecting);
      if (event.code === 4401 || event.code === 4408) {
        this.later(async () => { const s = await this.session(); if (s) this.connect(s.ws_url); });
      } else {
        this.later(() => this.connect(url));
      }
    };
  }

  send(frame: Frame): boolean {
    if (this.ws && this.authed && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  flush(): void {
    for (const item of this.saved.queue) this.send({ type: "message", client_id: item.client_id, text: item.text });
  }

  // --- frames -------------------------------------------------------------------

  onFrame(f: Frame): void {
    if (typeof f.seq === "number") {
      if (f.seq <= this.shown) return;
      this.shown = f.seq;
      this.fresh = f.seq > this.saved.lastSeq;
      if (this.fresh) { this.saved.lastSeq = f.seq; save(this.saved); }
    }
    switch (f.type) {
      case "message": this.onLeadMessage(f); break;
      case "turn.started": this.bubble(f.turn, f.role, f.agent?.name, false); this.setStreaming(f.role === "assistant"); break;
      case "turn.delta": this.onDelta(f); break;
      case "turn.completed": this.onCompleted(f); break;
      case "qualification": this.onQualification(f); break;
      case "strategy": this.onStrategy(f); break;
      case "handoff":
        if (f.active) this.showBanner(this.t.handoff(f.agent?.name || "")); else { this.ui.banner.hidden = true; this.notice(this.t.handoffEnd); }
        break;
      case "error": this.notice(this.t.errors[f.code] || f.message || ""); break;
    }
  }

  onLeadMessage(f: Frame): void {
    const waiting = this.pending.get(f.client_id);
    if (waiting) {
      waiting.classList.remove("pending");
      waiting.removeAttribute("title");
      this.pending.delete(f.client_id);
      this.saved.queue = this.saved.queue.filter((q) => q.client_id !== f.client_id);
      save(this.saved);
      return;
    }
    const node = this.bubble(f.turn, "lead", undefined, true);
    node.textContent = f.text;
  }

  onDelta(f: Frame): void {
    let turn = this.turns.get(f.turn);
    if (!turn) { this.bubble(f.turn, "assistant", undefined, false); turn = this.turns.get(f.turn)!; }
    if (turn.done) return;
    const end = f.offset + f.text.length;
    if (end <= turn.text.length || f.offset > turn.text.length) return; // duplicate, or a gap we wait to be filled
    turn.text = turn.text.slice(0, f.offset) + f.text;
    this.setText(turn.node, turn.text);
    this.scroll();
  }

  onCompleted(f: Frame): void {
    let turn = this.turns.get(f.turn);
    if (!turn) { this.bubble(f.turn, f.role, f.agent?.name, false); turn = this.turns.get(f.turn)!; }
    turn.text = f.text;
    turn.done = true;
    turn.node.classList.remove("caret");
    this.setText(turn.node, f.text);
    if (this.fresh) this.ui.live.textContent = f.text;
    this.setStreaming(false);
    this.scroll();
  }

  onQualification(f: Frame): void {
    this.step = f.step;
    this.answers = f.answers || {};
    this.ui.bar.style.width = `${Math.round((f.progress || 0) * 100)}%`;
    this.ui.bar.parentElement!.setAttribute("aria-valuenow", String(Math.round((f.progress || 0) * 100)));
    this.renderChips();
    if (f.step === "done") {
      this.summary();
      if (!this.qualified && this.fresh) emit("qualified", { answers: this.answers });
      this.qualified = true;
    }
  }

  onStrategy(f: Frame): void {
    // One card that moves queued → generating → ready, not one per frame.
    const card = this.strategyCard ?? el("div", "card");
    card.replaceChildren();
    if (f.status === "ready" && f.pdf_url) {
      card.append(el("h3", "", this.t.strategyReady));
      const link = el("a", "pdf", this.t.strategyDownload);
      link.href = f.pdf_url; link.target = "_blank"; link.rel = "noopener noreferrer";
      card.append(link);
      if (this.fresh) emit("strategy", { status: f.status, pdf_url: f.pdf_url });
    } else {
      card.append(el("h3", "", f.status === "failed" ? this.t.strategyFailed : this.t.strategyQueued));
    }
    // append() moves it: the card follows the newest message as it changes state.
    this.strategyCard = card;
    this.ui.log.append(card);
    this.scroll();
  }

  // --- rendering --------------------------------------------------------------------

  adoptStyles(): void {
    // A constructed stylesheet is not inline style: a host page whose CSP has
    // no 'unsafe-inline' in style-src still styles the widget. Old browsers
    // without adoptedStyleSheets get a <style> element instead.
    if ("adoptedStyleSheets" in this.root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      this.root.adoptedStyleSheets = [sheet];
    } else {
      this.root.append(el("style", "", css));
    }
  }

  render(): void {
    const c = this.config;
    const primary = /^#[0-9a-f]{6}$/i.test(c.primary_color || "") ? c.primary_color! : "#4f46e5";
    this.host.style.setProperty("--p", primary);
    this.host.style.setProperty("--on", textColour(primary));
    this.host.setAttribute("data-position", c.position === "left" ? "left" : "right");
    this.adoptStyles();
    const launcher = el("button", "launcher");
    launcher.setAttribute("aria-label", this.t.open);
    launcher.setAttribute("aria-expanded", "false");
    launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
    const greet = el("div", "greet", c.greeting || "");
    greet.hidden = !c.greeting || !!localStorage.getItem(`${STORE}:greeted`);
    const panel = el("div", "panel");
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", c.agency_name || this.t.title);
    const header = el("header");
    const title = el("h2", "", c.agency_name || this.t.title);
    const close = el("button", "", "×");
    close.setAttribute("aria-label", this.t.close);
    if (c.logo_url && /^https?:\/\//.test(c.logo_url)) {
      // Decorative: the agency's name is the heading right next to it.
      const logo = el("img", "logo") as HTMLImageElement;
      logo.src = c.logo_url; logo.alt = ""; logo.decoding = "async";
      logo.onerror = () => logo.remove();
      header.append(logo);
    }
    header.append(title, close);
    const track = el("div", "bar");
    track.setAttribute("role", "progressbar");
    track.setAttribute("aria-label", this.t.progress);
    track.setAttribute("aria-valuemin", "0");
    track.setAttribute("aria-valuemax", "100");
    const bar = el("i");
    track.append(bar);
    const banner = el("div", "banner");
    banner.hidden = true;
    banner.setAttribute("role", "status");
    const log = el("div", "log");
    log.setAttribute("role", "log");
    const chips = el("div", "chips");
    const form = el("form");
    const input = el("textarea");
    input.rows = 1;
    input.placeholder = this.t.placeholder;
    input.setAttribute("aria-label", this.t.placeholder);
    input.maxLength = 2000;
    const stop = el("button", "stop", this.t.stop);
    stop.type = "button"; stop.hidden = true;
    const send = el("button", "", this.t.send);
    send.type = "submit";
    form.append(input, stop, send);
    const live = el("div", "sr");
    live.setAttribute("aria-live", "polite");
    panel.append(header, track, banner, log, chips, form, live);
    this.root.append(greet, panel, launcher);
    Object.assign(this.ui, { launcher, greet, panel, log, bar, banner, chips, input, send, stop, live, title });

    launcher.onclick = () => (panel.hidden ? this.open() : this.close());
    close.onclick = () => this.close();
    stop.onclick = () => this.send({ type: "stop" });
    form.onsubmit = (e) => { e.preventDefault(); this.submit(input.value); };
    input.onkeydown = (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.submit(input.value); }
    };
    input.oninput = () => {
      const now = Date.now();
      if (now - this.lastTyping > 2000) { this.lastTyping = now; this.send({ type: "typing" }); }
    };
    panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.close();
      if (e.key === "Tab") this.trapFocus(e);
    });
    document.body.append(this.host);
    // The WordPress shortcode ([markezy]) marks pages where the chat opens by itself.
    if (this.openWhenReady || document.querySelector("[data-markezy-inline]") || script?.dataset.inline !== undefined) {
      this.open();
    }
  }

  trapFocus(e: KeyboardEvent): void {
    const focusable = Array.from(this.ui.panel.querySelectorAll<HTMLElement>("button:not([hidden]),textarea,a[href]"));
    if (!focusable.length) return;
    const active = this.root.activeElement;
    if (e.shiftKey && active === focusable[0]) { e.preventDefault(); focusable[focusable.length - 1].focus(); }
    else if (!e.shiftKey && active === focusable[focusable.length - 1]) { e.preventDefault(); focusable[0].focus(); }
  }

  open(): void {
    // Called before the session answered (a site's own button): open once rendered.
    if (!this.ui.panel) { this.openWhenReady = true; return; }
    this.ui.panel.hidden = false;
    this.ui.greet.hidden = true;
    try { localStorage.setItem(`${STORE}:greeted`, "1"); } catch { /* ignore */ }
    this.ui.launcher.setAttribute("aria-expanded", "true");
    this.ui.launcher.setAttribute("aria-label", this.t.close);
    this.ui.input.focus();
    this.scroll();
  }

  close(): void {
    if (!this.ui.panel) return;
    this.ui.panel.hidden = true;
    this.ui.launcher.setAttribute("aria-expanded", "false");
    this.ui.launcher.setAttribute("aria-label", this.t.open);
    this.ui.launcher.focus();
  }

  submit(raw: string): void {
    const text = raw.trim();
    if (!text) return;
    this.ui.input.value = "";
    const client_id = uuid();
    const node = this.bubble(`pending-${client_id}`, "lead", undefined, true);
    node.textContent = text;
    node.classList.add("pending");
    node.title = this.t.pending;
    this.pending.set(client_id, node);
    this.saved.queue.push({ client_id, text });
    save(this.saved);
    this.send({ type: "message", client_id, text });
  }

  bubble(turn: string, role: string, agentName: string | undefined, done: boolean): HTMLElement {
    const existing = this.turns.get(turn);
    if (existing) return existing.node;
    const node = el("div", `msg ${role === "lead" ? "lead" : role === "agent" ? "agent" : "assistant"}${done ? "" : " caret"}`);
    if (role === "agent" && agentName) node.dataset.who = agentName;
    this.turns.set(turn, { node, text: "", done });
    this.ui.log.append(node);
    this.scroll();
    return node;
  }

  setText(node: HTMLElement, text: string): void {
    node.textContent = "";
    if (node.dataset.who) node.append(el("span", "who", node.dataset.who));
    node.append(document.createTextNode(text));
  }

  setStreaming(on: boolean): void {
    this.ui.stop.hidden = !on;
  }

  notice(text: string): void {
    if (!text) return;
    this.ui.log.append(el("div", "notice", text));
    this.scroll();
  }

  showBanner(text: string): void {
    if (!this.ui.banner) return;
    this.ui.banner.textContent = text;
    this.ui.banner.hidden = false;
  }

  scroll(): void {
    if (this.ui.log) this.ui.log.scrollTop = this.ui.log.scrollHeight;
  }

  step_(field: string): Step | undefined {
    return (this.config.flow?.steps || []).find((s) => s.field === field);
  }

  renderChips(): void {
    const chips = this.ui.chips;
    chips.textContent = "";
    if (this.step === "consent") {
      const policy = this.config.privacy_policy || {};
      const yes = el("button", "solid", this.t.accept);
      yes.type = "button";
      yes.onclick = () => this.send({ type: "consent", granted: true, policy: policy.version || "1" });
      const no = el("button", "", this.t.decline);
      no.type = "button";
      no.onclick = () => this.send({ type: "consent", granted: false, policy: policy.version || "1" });
      chips.append(yes, no);
      if (policy.url && /^https?:\/\//.test(policy.url)) {
        const link = el("a", "", this.t.policy);
        link.href = policy.url; link.target = "_blank"; link.rel = "noopener noreferrer";
        chips.append(link);
      }
      return;
    }
    const step = this.step_(this.step);
    for (const choice of step?.choices || []) {
      const chip = el("button", "", choice.label);
      chip.type = "button";
      chip.onclick = () => this.submit(choice.label);
      chips.append(chip);
    }
  }

  summary(): void {
    const card = el("div", "card");
    card.append(el("h3", "", this.t.summary));
    const list = el("dl");
    for (const [field, value] of Object.entries(this.answers)) {
      if (field === "consent" || value === null || value === undefined) continue;
      const step = this.step_(field);
      const label = (v: any) => step?.choices?.find((c) => c.value === v)?.label || String(v);
      const shown = Array.isArray(value)
        ? value.map(label).join(", ")
        : field === "budget_monthly" && typeof value === "number"
          ? `${value.toLocaleString(this.config.locale === "en" ? "en-GB" : "es-ES")} ${this.t.perMonth}`
          : label(value);
      const name = this.t.fields[field] || field;
      const edit = el("button", "edit", this.t.change);
      edit.type = "button";
      edit.setAttribute("aria-label", `${this.t.change}: ${name}`);
      edit.onclick = () => this.send({ type: "edit", field });
      list.append(el("dt", "", name), el("dd", "", shown), edit);
    }
    card.append(list);
    this.ui.log.append(card);
    this.scroll();
  }
}

declare global {
  interface Window { Markezy?: any }
}

if (!window.Markezy && (KEY || PREVIEW) && SERVER) {
  const widget = new Widget();
  window.Markezy = {
    open: () => widget.open(),
    close: () => widget.close(),
    on: (event: string, fn: Listener) => { (listeners[event] = listeners[event] || []).push(fn); },
    off: (event: string, fn: Listener) => { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
  };
  const boot = () => widget.start().catch((e) => console.error("Markezy:", e));
  if (document.body) boot(); else document.addEventListener("DOMContentLoaded", boot);
} else if (!KEY && !PREVIEW) {
  console.warn("Markezy: the script tag needs data-key.");
}
