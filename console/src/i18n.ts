import { createContext, useContext } from "react";

export type Lang = "es" | "en";

import * as analyticsMessages from "./i18n/analytics";
import * as flowsMessages from "./i18n/flows";
import * as integrationsMessages from "./i18n/integrations";
import * as knowledgeMessages from "./i18n/knowledge";
import * as navMessages from "./i18n/nav";
import * as settingsMessages from "./i18n/settings";
import * as setupMessages from "./i18n/setup";
import * as teamMessages from "./i18n/team";

// The core messages; each section of the console keeps its own in i18n/<section>.ts
// (both languages side by side), merged below.
const coreEs = {
  "app.name": "Markezy",
  "app.tagline": "Consola del equipo",
  "app.title": "Consola",
  "login.title": "Entra en tu consola",
  "login.subtitle": "Sigue en directo las conversaciones de tus leads y toma el control cuando haga falta.",
  "login.email": "Email",
  "login.password": "Contraseña",
  "login.submit": "Entrar",
  "login.busy": "Entrando…",
  "login.failed": "No se pudo entrar.",
  "login.bad": "Email o contraseña incorrectos.",
  "login.throttled": "Demasiados intentos. Espera un minuto.",
  "nav.logout": "Salir",
  "nav.language": "Idioma",
  "conn.live": "En directo",
  "conn.connecting": "Conectando…",
  "conn.offline": "Sin conexión, reintentando…",
  "list.title": "Conversaciones",
  "list.search": "Buscar en las conversaciones",
  "list.searchPlaceholder": "Buscar texto…",
  "list.clearSearch": "Borrar búsqueda",
  "list.filter": "Estado",
  "list.empty": "Todavía no hay conversaciones. Aparecerán aquí en cuanto un visitante abra el chat.",
  "list.noResults": "Ninguna conversación coincide con la búsqueda.",
  "list.anonymous": "Visitante sin nombre",
  "list.unread": "{n} sin leer",
  "list.results": "{n} resultados",
  "list.more": "Cargar más",
  "status.all": "Todas",
  "status.open": "Abierta",
  "status.qualified": "Cualificada",
  "status.declined": "Rechazada",
  "status.closed": "Cerrada",
  "step.done": "Completado",
  "owner.bot": "Asistente",
  "owner.staff": "Atendida por {name}",
  "owner.you": "La atiendes tú",
  "conv.back": "Volver a la lista",
  "conv.none": "Elige una conversación de la lista para verla en directo.",
  "conv.noneTitle": "Nada seleccionado",
  "conv.transcript": "Transcripción",
  "conv.typing": "El lead está escribiendo…",
  "conv.takeover": "Tomar el control",
  "conv.release": "Devolver al asistente",
  "conv.viewerHint": "Tu rol es de solo lectura: no puedes tomar el control.",
  "conv.ownedByOther": "{name} atiende esta conversación.",
  "conv.replyLabel": "Responder al lead",
  "conv.replyPlaceholder": "Escribe tu respuesta…",
  "conv.send": "Enviar",
  "conv.takeoverToReply": "Toma el control para responder al lead.",
  "conv.watchers": "También mirando",
  "conv.onlyYou": "Solo tú estás mirando",
  "conv.stopped": "interrumpido",
  "conv.flagged": "marcado",
  "conv.handoffOn": "{name} tomó el control",
  "conv.handoffOff": "El asistente retoma la conversación",
  "conv.loading": "Cargando la conversación…",
  "conv.empty": "Todavía no hay mensajes en esta conversación.",
  "conv.step": "paso: {step}",
  "conv.started": "empezó {when}",
  "invite.title": "Invitación",
  "invite.join": "Únete a {agency}",
  "invite.as": "Te han invitado con el rol de {role}. Elige cómo entrar.",
  "invite.name": "Tu nombre",
  "invite.newPassword": "Crea una contraseña",
  "invite.currentPassword": "Ya tienes cuenta: tu contraseña",
  "invite.accept": "Aceptar la invitación",
  "invite.used": "Esta invitación ya se usó.",
  "invite.expired": "Esta invitación ha caducado.",
  "invite.unknown": "Este enlace de invitación no es válido.",
  "invite.askAgain": "Pide a la persona que te invitó un enlace nuevo.",
  "invite.wrongPassword": "Ya tienes una cuenta con este email: escribe su contraseña.",
  "role.owner": "Propietario",
  "role.admin": "Administrador",
  "role.viewer": "Lector",
  "role.lead": "Lead",
  "role.assistant": "Asistente",
  "role.agent": "Agente",
  "notes.title": "Notas privadas",
  "notes.private": "Solo las ve tu equipo. El lead nunca las recibe.",
  "notes.placeholder": "Añade una nota interna…",
  "notes.add": "Guardar nota",
  "notes.new": "Nueva nota privada",
  "notes.empty": "Sin notas todavía.",
  "notes.readonly": "Tu rol no permite escribir notas.",
  "lead.title": "Lead",
  "lead.answers": "Respuestas",
  "lead.noAnswers": "Aún no ha respondido nada.",
  "lead.score": "Puntuación",
  "lead.noScore": "Se calcula al completar la cualificación.",
  "lead.consent": "Consentimiento",
  "lead.consentGiven": "Otorgado (política {policy})",
  "lead.consentMissing": "Pendiente",
  "lead.strategy": "Estrategia",
  "lead.strategyPdf": "Descargar PDF",
  "lead.crm": "CRM (Clientify)",
  "lead.progress": "Progreso",
  "lead.perMonth": "{amount} al mes",
  "lead.step": "Paso actual",
  "lead.none": "Este visitante aún no ha dado datos.",
  "strategy.queued": "En cola",
  "strategy.generating": "Generando…",
  "strategy.ready": "Lista",
  "strategy.failed": "Falló",
  "crm.pending": "Pendiente",
  "crm.synced": "Sincronizado",
  "crm.failed": "Error",
  "crm.erased": "Borrado del CRM",
  "error.already_owned": "Otra persona del equipo ya atiende esta conversación.",
  "error.forbidden": "Tu rol no permite esta acción.",
  "error.not_found": "Esta conversación ya no existe.",
  "error.generic": "Algo salió mal: {message}",
  "announce.message": "{who}: {text}",
  "field.consent": "Consentimiento",
  "field.name": "Nombre",
  "field.company": "Empresa",
  "field.sector": "Sector",
  "field.platform": "Plataforma",
  "field.website": "Web",
  "field.goals": "Objetivos",
  "field.audience": "Público",
  "field.channels": "Canales",
  "field.budget_monthly": "Presupuesto mensual",
  "field.timeline": "Plazo",
  "field.email": "Email",
  "field.phone": "Teléfono",
  "yes": "Sí",
  "no": "No",
};

const coreEn: Record<keyof typeof coreEs, string> = {
  "app.name": "Markezy",
  "app.tagline": "Team console",
  "app.title": "Console",
  "login.title": "Sign in to your console",
  "login.subtitle": "Follow your leads' conversations live and take over whenever it matters.",
  "login.email": "Email",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.busy": "Signing in…",
  "login.failed": "Could not sign in.",
  "login.bad": "Wrong email or password.",
  "login.throttled": "Too many attempts. Wait a minute.",
  "nav.logout": "Sign out",
  "nav.language": "Language",
  "conn.live": "Live",
  "conn.connecting": "Connecting…",
  "conn.offline": "Offline, retrying…",
  "list.title": "Conversations",
  "list.search": "Search conversations",
  "list.searchPlaceholder": "Search text…",
  "list.clearSearch": "Clear search",
  "list.filter": "Status",
  "list.empty": "No conversations yet. They show up here as soon as a visitor opens the chat.",
  "list.noResults": "No conversation matches the search.",
  "list.anonymous": "Unnamed visitor",
  "list.unread": "{n} unread",
  "list.results": "{n} results",
  "list.more": "Load more",
  "status.all": "All",
  "status.open": "Open",
  "status.qualified": "Qualified",
  "status.declined": "Declined",
  "status.closed": "Closed",
  "step.done": "Done",
  "owner.bot": "Assistant",
  "owner.staff": "Handled by {name}",
  "owner.you": "You are handling it",
  "conv.back": "Back to the list",
  "conv.none": "Pick a conversation from the list to watch it live.",
  "conv.noneTitle": "Nothing selected",
  "conv.transcript": "Transcript",
  "conv.typing": "The lead is typing…",
  "conv.takeover": "Take over",
  "conv.release": "Hand back to the assistant",
  "conv.viewerHint": "Your role is read-only: you cannot take over.",
  "conv.ownedByOther": "{name} is handling this conversation.",
  "conv.replyLabel": "Reply to the lead",
  "conv.replyPlaceholder": "Type your reply…",
  "conv.send": "Send",
  "conv.takeoverToReply": "Take over to reply to the lead.",
  "conv.watchers": "Also watching",
  "conv.onlyYou": "Only you are watching",
  "conv.stopped": "interrupted",
  "conv.flagged": "flagged",
  "conv.handoffOn": "{name} took over",
  "conv.handoffOff": "The assistant is back in charge",
  "conv.loading": "Loading the conversation…",
  "conv.empty": "No messages in this conversation yet.",
  "conv.step": "step: {step}",
  "conv.started": "started {when}",
  "invite.title": "Invitation",
  "invite.join": "Join {agency}",
  "invite.as": "You were invited as {role}. Choose how to sign in.",
  "invite.name": "Your name",
  "invite.newPassword": "Choose a password",
  "invite.currentPassword": "You already have an account: your password",
  "invite.accept": "Accept the invitation",
  "invite.used": "This invitation was already used.",
  "invite.expired": "This invitation has expired.",
  "invite.unknown": "This invitation link is not valid.",
  "invite.askAgain": "Ask whoever invited you for a new link.",
  "invite.wrongPassword": "You already have an account with this email: type its password.",
  "role.owner": "Owner",
  "role.admin": "Admin",
  "role.viewer": "Viewer",
  "role.lead": "Lead",
  "role.assistant": "Assistant",
  "role.agent": "Agent",
  "notes.title": "Private notes",
  "notes.private": "Only your team sees them. The lead never receives them.",
  "notes.placeholder": "Add an internal note…",
  "notes.add": "Save note",
  "notes.new": "New private note",
  "notes.empty": "No notes yet.",
  "notes.readonly": "Your role cannot write notes.",
  "lead.title": "Lead",
  "lead.answers": "Answers",
  "lead.noAnswers": "No answers yet.",
  "lead.score": "Score",
  "lead.noScore": "Computed when qualification completes.",
  "lead.consent": "Consent",
  "lead.consentGiven": "Granted (policy {policy})",
  "lead.consentMissing": "Pending",
  "lead.strategy": "Strategy",
  "lead.strategyPdf": "Download PDF",
  "lead.crm": "CRM (Clientify)",
  "lead.progress": "Progress",
  "lead.perMonth": "{amount} a month",
  "lead.step": "Current step",
  "lead.none": "This visitor has not shared any details yet.",
  "strategy.queued": "Queued",
  "strategy.generating": "Generating…",
  "strategy.ready": "Ready",
  "strategy.failed": "Failed",
  "crm.pending": "Pending",
  "crm.synced": "Synced",
  "crm.failed": "Error",
  "crm.erased": "Erased from the CRM",
  "error.already_owned": "Someone else on the team is already handling this conversation.",
  "error.forbidden": "Your role does not allow this.",
  "error.not_found": "This conversation no longer exists.",
  "error.generic": "Something went wrong: {message}",
  "announce.message": "{who}: {text}",
  "field.consent": "Consent",
  "field.name": "Name",
  "field.company": "Company",
  "field.sector": "Sector",
  "field.platform": "Platform",
  "field.website": "Website",
  "field.goals": "Goals",
  "field.audience": "Audience",
  "field.channels": "Channels",
  "field.budget_monthly": "Monthly budget",
  "field.timeline": "Timeline",
  "field.email": "Email",
  "field.phone": "Phone",
  "yes": "Yes",
  "no": "No",
};

const es = {
  ...coreEs, ...navMessages.es, ...analyticsMessages.es, ...setupMessages.es, ...flowsMessages.es,
  ...knowledgeMessages.es, ...integrationsMessages.es, ...settingsMessages.es, ...teamMessages.es,
};
export type Key = keyof typeof es;
const en: Record<Key, string> = {
  ...coreEn, ...navMessages.en, ...analyticsMessages.en, ...setupMessages.en, ...flowsMessages.en,
  ...knowledgeMessages.en, ...integrationsMessages.en, ...settingsMessages.en, ...teamMessages.en,
};

const DICTS: Record<Lang, Record<Key, string>> = { es, en };
const STORAGE_KEY = "mkz.lang";

export function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === "es" || saved === "en") return saved;
  } catch {
    // Storage may be disabled; Spanish is the product's default.
  }
  return "es";
}

export function rememberLang(lang: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not remembered, still switched.
  }
  document.documentElement.lang = lang;
}

export type Translate = (key: Key, vars?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const dict = DICTS[lang];
  return (key, vars) => {
    let text = dict[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) text = text.replace(`{${k}}`, String(v));
    return text;
  };
}

/** A label for an answer field: known ones are translated, others shown as named. */
export function fieldLabel(t: Translate, field: string): string {
  const key = `field.${field}` as Key;
  return key in es ? t(key) : field.replace(/_/g, " ");
}

export const I18n = createContext<{ lang: Lang; t: Translate; setLang: (l: Lang) => void }>({
  lang: "es",
  t: translator("es"),
  setLang: () => undefined,
});

export const useI18n = () => useContext(I18n);
