/** The console's sections: one entry each, in the order of the navigation bar.
 *
 * A section is a screen of its own under /console/<id>/…; it gets the signed-in
 * staff member, the rest of its path, and the one monitor socket the console
 * keeps open whatever section is shown (so the live list never misses a frame).
 * `minRole` hides the entry from roles that could not use it; the API checks
 * roles anyway, the navigation only avoids offering a screen that would 403. */
import { lazy, Suspense, type JSX } from "react";

import type { Me, Role } from "./api";
import { useI18n, type Key } from "./i18n";
import type { MonitorSocket } from "./monitor";
import { AnalyticsSection } from "./sections/AnalyticsSection";
import { Conversations } from "./sections/Conversations";

export type SectionProps = { me: Me; rest: string[]; socket: MonitorSocket; resyncs: number };

export type Section = {
  id: string;
  label: Key;
  minRole: Role;
  render: (props: SectionProps) => JSX.Element;
};

/** A section fetched the first time it opens: the conversations screen, which
 * every staff member opens first, does not download the admin screens. */
function lazySection(load: () => Promise<(props: SectionProps) => JSX.Element>) {
  const Screen = lazy(() => load().then((component) => ({ default: component })));
  return function LazySection(props: SectionProps) {
    return <Suspense fallback={<SectionLoading />}><Screen {...props} /></Suspense>;
  };
}

function SectionLoading() {
  const { t } = useI18n();
  return (
    <main id="main" className="page" tabIndex={-1} aria-busy="true">
      <div className="page-inner"><p className="muted" role="status">{t("nav.loading")}</p></div>
    </main>
  );
}

const Setup = lazySection(() => import("./sections/Setup").then((m) => m.Setup));
const Flows = lazySection(() => import("./sections/Flows").then((m) => m.Flows));
const Knowledge = lazySection(() => import("./sections/Knowledge").then((m) => m.Knowledge));
const Integrations = lazySection(() => import("./sections/Integrations").then((m) => m.Integrations));
const Settings = lazySection(() => import("./sections/Settings").then((m) => m.Settings));
const Team = lazySection(() => import("./sections/Team").then((m) => m.Team));

export const SECTIONS: Section[] = [
  { id: "conversations", label: "nav.conversations", minRole: "viewer", render: Conversations },
  { id: "analytics", label: "nav.analytics", minRole: "viewer", render: AnalyticsSection },
  { id: "setup", label: "nav.setup", minRole: "admin", render: Setup },
  { id: "flows", label: "nav.flows", minRole: "admin", render: Flows },
  // Viewers and agents see the documents and try searches; only admins change them (the API's roles).
  { id: "knowledge", label: "nav.knowledge", minRole: "viewer", render: Knowledge },
  { id: "integrations", label: "nav.integrations", minRole: "admin", render: Integrations },
  { id: "settings", label: "nav.settings", minRole: "admin", render: Settings },
  { id: "team", label: "nav.team", minRole: "admin", render: Team },
];
