import { useEffect, useRef } from "react";

import { atLeast, type Me } from "../api";
import { navigate, parseRoute, pathOf } from "../router";
import * as ss from "./selfservice.api";

/** The console's landing after sign-in: an agency whose widget has not yet
 * run on its site (a new one) starts on the checklist instead of an empty
 * conversation list. Only when the console opens at its root, once. */
export function useFirstRunLanding(me: Me | null): void {
  const decided = useRef(false);
  useEffect(() => {
    if (!me || decided.current) return;
    decided.current = true;
    const atRoot = () => { const r = parseRoute(); return r.section === "conversations" && r.rest.length === 0; };
    if (!atLeast(me.role, "admin") || !atRoot()) return;
    ss.getOnboarding().then((status) => {
      const installed = status.steps.find((s) => s.id === "install")?.done;
      if (!status.complete && !installed && atRoot()) navigate(pathOf("setup"), { replace: true });
    }, () => undefined);
  }, [me]);
}
