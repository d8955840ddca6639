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
  window.dispatchEvent(new Event(EVENT));
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
