/** The console's sections: one entry each, in the order of the navigation bar.
 *
 * A section is a screen of its own under /console/<id>/…; it gets the signed-in
 * staff member, the rest of its path, and the one monitor socket the console
 * keeps open whatever section is shown (so the live list never misses a frame).
 * `minRole` hides the entry from roles that could not use it; the API checks
 * roles anyway, the navigation only avoids offering a screen that would 403. */
import type { JSX } from "react";

import type { Me, Role } from "./api";
import type { Key } from "./i18n";
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

export const SECTIONS: Section[] = [
  { id: "conversations", label: "nav.conversations", minRole: "viewer", render: Conversations },
  { id: "analytics", label: "nav.analytics", minRole: "viewer", render: AnalyticsSection },
];
