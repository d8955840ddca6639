/** The analytics section's entry in the registry: the dashboard and Chart.js
 * are a chunk of their own, fetched the first time the section opens, so the
 * conversations screen never downloads the charting library. */
import { lazy, Suspense } from "react";

import { useI18n } from "../i18n";
import type { SectionProps } from "../sections";

const Dashboard = lazy(() => import("./Analytics"));

export function AnalyticsSection(props: SectionProps) {
  return (
    <Suspense fallback={<Loading />}>
      <Dashboard {...props} />
    </Suspense>
  );
}

function Loading() {
  const { t } = useI18n();
  return (
    <main id="main" className="page" tabIndex={-1} aria-busy="true">
      <div className="page-inner">
        <div className="page-head"><h1>{t("analytics.title")}</h1></div>
        <p className="muted" role="status">{t("analytics.loading")}</p>
      </div>
    </main>
  );
}
