/** The console's navigation between sections. */
export const es = {
  "nav.sections": "Secciones",
  "nav.conversations": "Conversaciones",
  "nav.skip": "Ir al contenido",
  "nav.loading": "Cargando…",
};

export const en: Record<keyof typeof es, string> = {
  "nav.sections": "Sections",
  "nav.conversations": "Conversations",
  "nav.skip": "Skip to content",
  "nav.loading": "Loading…",
};
