/** The staff socket (CONTRACT §4): one per tab, reconnecting by itself.
 *
 * After every (re)connect it authenticates with a fresh access token and
 * subscribes again to what the console watches; the server then replays each
 * conversation's persisted frames, which the store de-duplicates by `seq` and
 * `offset`, so a reconnect resyncs without showing anything twice. The socket
 * keeps the token it authenticated with, so a refreshed token means a quiet
 * reconnect rather than a 4401 a minute after the old one expires.
 */
import { auth } from "./api";

export type Frame = { type: string; conversation?: unknown; [key: string]: unknown };
export type ConnState = "connecting" | "live" | "offline";

const CLOSE_UNAUTHENTICATED = 4401;
const MAX_BACKOFF_MS = 15_000;

type FrameListener = (frame: Frame) => void;
type StateListener = (state: ConnState) => void;

export class MonitorSocket {
  state: ConnState = "connecting";
  private ws: WebSocket | null = null;
  private token: string | null = null;
  private attempts = 0;
  private retry: number | undefined;
  private stopped = true;
  private subscriptions = new Set<string>();
  private frameListeners = new Set<FrameListener>();
  private stateListeners = new Set<StateListener>();
  private readyListeners = new Set<() => void>();
  private offAuth: (() => void) | null = null;
  // Bumped by every stop or forced reconnect: an open() still awaiting a token gives up.
  private generation = 0;

  constructor(private url: string = MonitorSocket.defaultUrl()) {}

  static defaultUrl(): string {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws/v1/monitor`;
  }

  onFrame(fn: FrameListener): () => void {
    this.frameListeners.add(fn);
    return () => this.frameListeners.delete(fn);
  }

  onState(fn: StateListener): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Called after each successful (re)authentication: the place to resync lists. */
  onReady(fn: () => void): () => void {
    this.readyListeners.add(fn);
    return () => this.readyListeners.delete(fn);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.reconnectNow);
    this.offAuth = auth.onChange(() => {
      if (!auth.signedIn) this.stop();
      else if (auth.token !== this.token && this.ws?.readyState === WebSocket.OPEN) this.reconnectNow();
    });
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    this.generation += 1;
    window.clearTimeout(this.retry);
    window.removeEventListener("online", this.reconnectNow);
    this.offAuth?.();
    this.offAuth = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
  }

  send(frame: Frame): boolean {
    if (this.state !== "live" || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  subscribe(conversation: string): void {
    if (this.subscriptions.has(conversation)) return;
    this.subscriptions.add(conversation);
    this.send({ type: "subscribe", conversation });
  }

  unsubscribe(conversation: string): void {
    if (!this.subscriptions.delete(conversation)) return;
    this.send({ type: "unsubscribe", conversation });
  }

  private setState(state: ConnState): void {
    if (this.state === state) return;
    this.state = state;
    for (const fn of this.stateListeners) fn(state);
  }

  private reconnectNow = (): void => {
    if (this.stopped) return;
    window.clearTimeout(this.retry);
    this.attempts = 0;
    this.generation += 1;
    const old = this.ws;
    this.ws = null;
    old?.close(1000);
    void this.open();
  };

  private async open(): Promise<void> {
    if (this.stopped) return;
    const generation = this.generation;
    this.setState(this.attempts > 0 ? "offline" : "connecting");
    let token: string | null;
    try {
      token = await auth.fresh();
    } catch {
      if (generation === this.generation) this.scheduleRetry();
      return;
    }
    if (token === null || this.stopped || generation !== this.generation) return; // signed out, or superseded
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.token = token;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      let frame: Frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "ready") {
        this.attempts = 0;
        this.setState("live");
        for (const fn of this.readyListeners) fn();
        for (const conversation of this.subscriptions) ws.send(JSON.stringify({ type: "subscribe", conversation }));
        return;
      }
      for (const fn of this.frameListeners) fn(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return; // replaced on purpose
      this.ws = null;
      if (this.stopped) return;
      if (event.code === CLOSE_UNAUTHENTICATED) {
        // The token expired or was revoked: a refresh decides whether we stay signed in.
        auth.refresh().then(
          (fresh) => (fresh ? this.scheduleRetry(0) : this.stop()),
          () => this.scheduleRetry(),
        );
        return;
      }
      this.scheduleRetry();
    };
  }

  private scheduleRetry(delay?: number): void {
    if (this.stopped) return;
    this.attempts += 1;
    this.setState("offline");
    const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.attempts - 1, 6));
    const wait = delay ?? backoff * (0.5 + Math.random() / 2);
    window.clearTimeout(this.retry);
    this.retry = window.setTimeout(() => void this.open(), wait);
  }
}
