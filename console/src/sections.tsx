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
import { Conversations } from "./sections/Conversations";
import { Flows } from "./sections/Flows";
import { Integrations } from "./sections/Integrations";
import { Knowledge } from "./sections/Knowledge";
import { Settings } from "./sections/Settings";
import { Setup } from "./sections/Setup";
import { Team } from "./sections/Team";

export type SectionProps = { me: Me; rest: string[]; socket: MonitorSocket; resyncs: number };

export type Section = {
  id: string;
  label: Key;
  minRole: Role;
  render: (props: SectionProps) => JSX.Element;
};

export const SECTIONS: Section[] = [
  { id: "conversations", label: "nav.conversations", minRole: "viewer", render: Conversations },
  { id: "setup", label: "nav.setup", minRole: "admin", render: Setup },
  { id: "flows", label: "nav.flows", minRole: "admin", render: Flows },
  // Viewers and agents see the documents and try searches; only admins change them (the API's roles).
  { id: "knowledge", label: "nav.knowledge", minRole: "viewer", render: Knowledge },
  { id: "integrations", label: "nav.integrations", minRole: "admin", render: Integrations },
  { id: "settings", label: "nav.settings", minRole: "admin", render: Settings },
  { id: "team", label: "nav.team", minRole: "admin", render: Team },
];
