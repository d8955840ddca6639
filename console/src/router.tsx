/** The console's client-side routes, all under /console/ (console/views.py
 * serves the app shell for every path there):
 *
 *   /console/                    conversations (the live list)
 *   /console/c/<conversation>    one conversation
 *   /console/invitations/<token> an invitation link (no session needed)
 *   /console/<section>/<rest…>   any other section of sections.tsx
 *
 * No router library: the console has a handful of flat routes and history
 * pushState + one event is all they need. */
import { useEffect, useState } from "react";

export const BASE = "/console/";
const EVENT = "mkz:navigate";

export type Route = { section: string; rest: string[] };

export function parseRoute(pathname: string = location.pathname): Route {
  const tail = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : "";
  const parts = tail.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { section: "conversations", rest: [] };
  if (parts[0] === "c") return { section: "conversations", rest: parts.slice(1) };
  return { section: parts[0], rest: parts.slice(1) };
}

/** The path of a section (and optional sub-path) of the console. */
export function pathOf(section: string, ...rest: string[]): string {
  if (section === "conversations") return rest.length ? `${BASE}c/${rest.map(encodeURIComponent).join("/")}` : BASE;
  return `${BASE}${[section, ...rest].map(encodeURIComponent).join("/")}`;
}

export function navigate(path: string, { replace = false } = {}): void {
  if (location.pathname + location.search !== path) {
    if (replace) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
  }
  shown = location.pathname + location.search;
  window.dispatchEvent(new Event(EVENT));
}

// The question to ask before leaving the page shown (unsaved edits), if any;
// and the path of that page, to go back to when the answer is "stay".
let leaving: string | null = null;
let shown = location.pathname + location.search;

// Registered before any useRoute() listener, so a refused back/forward is
// undone before a route changes: the browser has already moved the URL, the
// page puts it back.
window.addEventListener("popstate", (event) => {
  const next = location.pathname + location.search;
  if (leaving && next !== shown && !window.confirm(leaving)) {
    event.stopImmediatePropagation();
    history.pushState(null, "", shown);
    return;
  }
  shown = next;
});

/** While `active`, leaving the page asks `question` first: a reload or a
 * closed tab (the browser's own prompt), an in-app link, back and forward. */
export function useLeaveGuard(active: boolean, question: string): void {
  useEffect(() => {
    if (!active) return;
    leaving = question;
    const unload = (e: BeforeUnloadEvent) => e.preventDefault();
    const click = (e: MouseEvent) => {
      const link = (e.target as Element | null)?.closest?.("a[href]") as HTMLAnchorElement | null;
      if (!link || link.target || new URL(link.href).pathname === location.pathname) return;
      if (!window.confirm(question)) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    window.addEventListener("beforeunload", unload);
    document.addEventListener("click", click, true);
    return () => {
      if (leaving === question) leaving = null;
      window.removeEventListener("beforeunload", unload);
      document.removeEventListener("click", click, true);
    };
  }, [active, question]);
}

/** The current route, updated on navigate() and on back/forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseRoute());
  useEffect(() => {
    const update = () => setRoute(parseRoute());
    window.addEventListener("popstate", update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return route;
}

/** An in-app link: a real <a href> (open in new tab, copy link) that navigates
 * without a reload on a plain click. */
export function Link({ to, children, ...props }: { to: string; children: React.ReactNode }
  & Omit<React.AnchorHTMLAttributes<HTMLAnchorElement>, "href">) {
  return (
    <a {...props} href={to} onClick={(event) => {
      props.onClick?.(event);
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(to);
    }}>{children}</a>
  );
}
