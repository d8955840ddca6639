// All user-facing strings, Spanish first.
export type Lang = "es" | "en";

const es = {
  open: "Abrir el chat",
  close: "Cerrar el chat",
  title: "Asistente",
  placeholder: "Escribe tu mensaje…",
  send: "Enviar",
  stop: "Detener",
  pending: "pendiente",
  accept: "Acepto",
  decline: "No, gracias",
  policy: "Política de privacidad",
  change: "cambiar",
  summary: "Tus respuestas",
  handoff: (name: string) => `Ahora te atiende ${name}`,
  handoffEnd: "El asistente vuelve a atenderte",
  strategyQueued: "Preparando tu estrategia…",
  strategyReady: "Tu estrategia está lista",
  strategyDownload: "Descargar PDF",
  strategyFailed: "No hemos podido generar tu estrategia; el equipo te escribirá.",
  reconnecting: "Reconectando…",
  progress: "Progreso",
  perMonth: "€/mes",
  fields: {
    name: "Nombre", company: "Empresa", sector: "Sector", platform: "Plataforma", website: "Web",
    goals: "Objetivos", audience: "Cliente ideal", channels: "Canales", budget_monthly: "Presupuesto",
    timeline: "Inicio", email: "Email", phone: "Teléfono",
  } as Record<string, string>,
  errors: {
    rate_limited: "Vas un poco rápido: espera unos segundos.",
    too_long: "El mensaje es demasiado largo.",
    llm_unavailable: "El asistente va con retraso; seguimos con respuestas guiadas.",
    bad_frame: "No se ha podido enviar el mensaje.",
  } as Record<string, string>,
};

const en: typeof es = {
  open: "Open chat",
  close: "Close chat",
  title: "Assistant",
  placeholder: "Type your message…",
  send: "Send",
  stop: "Stop",
  pending: "pending",
  accept: "I agree",
  decline: "No, thanks",
  policy: "Privacy policy",
  change: "change",
  summary: "Your answers",
  handoff: (name: string) => `You're now talking to ${name}`,
  handoffEnd: "The assistant is back",
  strategyQueued: "Preparing your strategy…",
  strategyReady: "Your strategy is ready",
  strategyDownload: "Download PDF",
  strategyFailed: "We couldn't generate your strategy; the team will write to you.",
  reconnecting: "Reconnecting…",
  progress: "Progress",
  perMonth: "€/month",
  fields: {
    name: "Name", company: "Company", sector: "Sector", platform: "Platform", website: "Website",
    goals: "Goals", audience: "Ideal customer", channels: "Channels", budget_monthly: "Budget",
    timeline: "Start", email: "Email", phone: "Phone",
  },
  errors: {
    rate_limited: "You're going a bit fast: wait a few seconds.",
    too_long: "The message is too long.",
    llm_unavailable: "The assistant is slow; we continue with guided answers.",
    bad_frame: "The message could not be sent.",
  },
};

export const strings = { es, en };
export type Strings = typeof es;
