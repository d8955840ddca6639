/** The flows section (/console/flows): the versions of the agency's
 * qualification flow, the editor of a draft with its live preview, and the
 * differences between two versions.
 *
 *   /console/flows                       versions
 *   /console/flows/<version>             one version (a draft is editable)
 *   /console/flows/<version>/diff/<old>  what changed from <old> to <version> */
import { useCallback, useEffect, useState } from "react";

import { ApiError, atLeast } from "../api";
import { useI18n } from "../i18n";
import { Link, navigate, pathOf } from "../router";
import type { SectionProps } from "../sections";
import { FlowDiff } from "./FlowDiff";
import { FlowEditor } from "./FlowEditor";
import "./Flows.css";
import { createDraft, getFlows, getVersion } from "./flows.api";
import { formatDate, versionStatus } from "./flows.util";
import type { FlowOverview } from "./flows.api";

const UUID = /^[0-9a-f-]{36}$/i;

export function Flows({ me, rest }: SectionProps) {
  const id = rest[0] && UUID.test(rest[0]) ? rest[0] : null;
  if (id && rest[1] === "diff" && rest[2] && UUID.test(rest[2])) {
    return <FlowDiff key={`${id}-${rest[2]}`} id={id} against={rest[2]} />;
  }
  if (id) return <FlowEditor key={id} id={id} canWrite={atLeast(me.role, "admin")} />;
  return <FlowList canWrite={atLeast(me.role, "admin")} />;
}

function FlowList({ canWrite }: { canWrite: boolean }) {
  const { t, lang } = useI18n();
  const [overview, setOverview] = useState<FlowOverview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [compare, setCompare] = useState<string[]>([]);

  useEffect(() => {
    getFlows().then(setOverview, (e: ApiError) => setError(e.message));
  }, []);

  const newDraft = useCallback(async () => {
    if (!overview) return;
    setBusy(true);
    setError(null);
    try {
      // A draft starts as a copy of the version new conversations use today.
      const base = overview.current_version ?? overview.versions[0]?.id;
      const source = base ? await getVersion(base) : null;
      const draft = await createDraft(source?.definition ?? { questions: [] });
      navigate(pathOf("flows", draft.id));
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  }, [overview]);

  const toggle = (id: string) =>
    setCompare((ids) => (ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id].slice(-2)));

  const comparePath = () => {
    if (!overview || compare.length !== 2) return "";
    const [a, b] = compare.map((id) => overview.versions.find((v) => v.id === id)!).sort((x, y) => x.number - y.number);
    return pathOf("flows", b.id, "diff", a.id);
  };

  return (
    <main id="main" className="page flows" tabIndex={-1}>
      <div className="page-inner">
        <div className="page-head">
          <div>
            <h1>{t("flows.title")}</h1>
            <p className="muted">{t("flows.subtitle")}</p>
          </div>
          {canWrite && (
            <button type="button" className="primary" onClick={() => void newDraft()} disabled={!overview || busy}>
              {busy ? t("flows.creating") : t("flows.newDraft")}
            </button>
          )}
        </div>
        {error && <p className="form-error" role="alert">{error}</p>}
        {!overview && !error && <div className="card flows-loading" aria-busy="true">{t("flows.loading")}</div>}
        {overview && (
          <section className="card flows-versions" aria-labelledby="flows-versions-title">
            <div className="flows-versions-head">
              <h2 id="flows-versions-title">{t("flows.versions", { name: overview.name })}</h2>
              <div className="flows-compare">
                <span className="muted small" id="flows-compare-hint">
                  {compare.length === 2 ? t("flows.compareReady") : t("flows.compareHint")}
                </span>
                <button type="button" className="secondary small" disabled={compare.length !== 2}
                        aria-describedby="flows-compare-hint" onClick={() => navigate(comparePath())}>
                  {t("flows.compare")}
                </button>
              </div>
            </div>
            <table className="flows-table">
              <thead>
                <tr>
                  <th scope="col"><span className="sr-only">{t("flows.col.compare")}</span></th>
                  <th scope="col">{t("flows.col.version")}</th>
                  <th scope="col">{t("flows.col.status")}</th>
                  <th scope="col">{t("flows.col.created")}</th>
                  <th scope="col">{t("flows.col.published")}</th>
                  <th scope="col"><span className="sr-only">{t("flows.col.actions")}</span></th>
                </tr>
              </thead>
              <tbody>
                {overview.versions.map((v) => {
                  const status = versionStatus(t, v, overview.current_version);
                  return (
                    <tr key={v.id} className={v.id === overview.current_version ? "current" : ""} data-version={v.number}>
                      <td>
                        <input type="checkbox" checked={compare.includes(v.id)} onChange={() => toggle(v.id)}
                               aria-label={t("flows.selectCompare", { n: v.number })} />
                      </td>
                      <td className="flows-number">{t("flows.versionN", { n: v.number })}</td>
                      <td><span className={`flow-status ${status.cls}`}>{status.label}</span></td>
                      <td>
                        <span className="flows-when">{formatDate(v.created, lang)}</span>
                        <span className="muted small">{v.created_by ? v.created_by.name : t("flows.bySystem")}</span>
                      </td>
                      <td>
                        <span className="flows-when">{formatDate(v.published_at, lang)}</span>
                        {v.published_at && (
                          <span className="muted small">{v.published_by ? v.published_by.name : t("flows.bySystem")}</span>
                        )}
                      </td>
                      <td className="flows-open">
                        <Link to={pathOf("flows", v.id)} className="flows-open-link"
                              aria-label={t(v.status === "draft" && canWrite ? "flows.editN" : "flows.openN", { n: v.number })}>
                          {v.status === "draft" && canWrite ? t("flows.edit") : t("flows.open")}
                        </Link>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <p className="muted small flows-note">{t("flows.versionsNote")}</p>
          </section>
        )}
      </div>
    </main>
  );
}
