/** One dashboard chart: a Chart.js canvas that screen readers get as an image
 * with a summary, and the same numbers as a table (visually hidden until
 * "show as table" is pressed, never absent). */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartType,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  type Plugin,
  PointElement,
  Tooltip,
} from "chart.js";
import { useEffect, useId, useRef, useState } from "react";

import { useI18n } from "../i18n";

// Only what the dashboard draws: bars, lines, two linear/category axes, tooltips
// and legends (the rest of Chart.js is tree-shaken away).
Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale,
  Tooltip, Legend);
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily || "system-ui, sans-serif";
Chart.defaults.font.size = 12;
Chart.defaults.color = "#6b7280";
Chart.defaults.borderColor = "#eef0f4";

export const COLORS = {
  brand: "#4f46e5",
  brandSoft: "#a5b4fc",
  brandMid: "#818cf8",
  teal: "#0d9488",
  tealSoft: "#2dd4bf",
  amber: "#d97706",
  rose: "#e11d48",
  slate: "#94a3b8",
};

export const reducedMotion = () => window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;

/** Writes a label at the end of every bar (e.g. a funnel stage's count and
 * conversion), so the numbers read without hovering: a dataset carrying
 * `valueLabels` (one string per bar) gets them. A few lines instead of the
 * datalabels plugin. */
export const VALUE_LABELS: Plugin<"bar"> = {
  id: "mkzValueLabels",
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const horizontal = chart.options.indexAxis === "y";
    ctx.save();
    ctx.font = `600 12px ${Chart.defaults.font.family}`;
    ctx.fillStyle = "#374151";
    chart.data.datasets.forEach((dataset, datasetIndex) => {
      const labels = (dataset as { valueLabels?: string[] }).valueLabels;
      const meta = chart.getDatasetMeta(datasetIndex);
      if (!labels || meta.hidden) return;
      meta.data.forEach((bar, index) => {
        const text = labels[index];
        if (!text) return;
        const { x, y } = bar.getProps(["x", "y"], true) as { x: number; y: number };
        ctx.textAlign = horizontal ? "left" : "center";
        ctx.textBaseline = horizontal ? "middle" : "bottom";
        ctx.fillText(text, horizontal ? x + 6 : x, horizontal ? y : y - 4);
      });
    });
    ctx.restore();
  },
};

/** A table cell: the text shown, and the number (or key) it stands for in `data-value`. */
export type Cell = { text: string; value: number | string | null };
export type Table = { columns: string[]; rows: Cell[][] };

type Props<T extends ChartType> = {
  id: string;
  title: string;
  hint?: string;
  config: ChartConfiguration<T>;
  summary: string;
  table: Table;
  empty: boolean;
  height: number;
  wide?: boolean;
};

export function ChartCard<T extends ChartType>({ id, title, hint, config, summary, table, empty, height, wide }: Props<T>) {
  const { t } = useI18n();
  const [showTable, setShowTable] = useState(false);
  const tableId = useId();
  const headingId = useId();
  return (
    <section className={`card chart-card${wide ? " wide" : ""}`} aria-labelledby={headingId} data-chart={id}>
      <div className="chart-head">
        <div>
          <h2 id={headingId}>{title}</h2>
          {hint && <p className="muted small">{hint}</p>}
        </div>
        {!empty && (
          <button type="button" className="ghost small table-toggle" aria-expanded={showTable} aria-controls={tableId}
                  onClick={() => setShowTable((v) => !v)}>
            {t(showTable ? "analytics.hideTable" : "analytics.showTable")}
          </button>
        )}
      </div>
      {empty ? (
        <p className="chart-empty muted">{t("analytics.noData")}</p>
      ) : (
        <>
          <ChartCanvas config={config} summary={summary} height={height} />
          <div id={tableId} className={showTable ? "chart-table" : "sr-only"}>
            <table data-table={id}>
              <caption className="sr-only">{title}</caption>
              <thead>
                <tr>{table.columns.map((c, i) => <th key={i} scope="col">{c}</th>)}</tr>
              </thead>
              <tbody>
                {table.rows.map((row, r) => (
                  <tr key={r}>
                    {row.map((cell, c) => c === 0
                      ? <th key={c} scope="row" data-value={cell.value ?? ""}>{cell.text}</th>
                      : <td key={c} data-value={cell.value ?? ""}>{cell.text}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function ChartCanvas<T extends ChartType>({ config, summary, height }: { config: ChartConfiguration<T>; summary: string;
                                                                         height: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<T> | null>(null);
  const renders = useRef(0);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, config);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
    // Created once, from the first config; later ones update it in place (below).
  }, []);

  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    renders.current += 1;
    if (renders.current === 1) return; // the instance was just built from this config
    current.data = config.data;
    if (config.options) current.options = config.options;
    current.update();
    // The render count lets a test (and a curious reader of the DOM) see the chart was redrawn.
    canvas.current?.setAttribute("data-renders", String(renders.current));
  }, [config]);

  return (
    <div className="chart-canvas" style={{ height }}>
      <canvas ref={canvas} role="img" aria-label={summary} data-renders="1">{summary}</canvas>
    </div>
  );
}
