/** REST of the Clientify integration and the outbound webhooks (integrations/api.py). */
import { api, apiForm, type Page } from "../api";

export type Mapping = {
  fields?: Record<string, string | null>;
  custom_fields?: boolean;
  custom_field_prefix?: string;
  custom_field_names?: Record<string, string | null>;
  status_by_band?: Record<string, string>;
  extra_tags?: string[];
  contact_source?: string;
  deal_pipeline?: string;
  deal_stage?: string;
};

export type Clientify = {
  connected: boolean;
  enabled: boolean;
  api_token: { set: boolean; last4: string | null } | null;
  account: { id: number | string; email?: string; name?: string; company?: string } | null;
  field_mapping: Mapping;
  api_root: string;
  inbound_webhook_url: string | null;
  health: {
    last_success: string | null;
    last_failure: string | null;
    last_error: string | null;
    consecutive_failures: number;
    breaker: { state: "closed" | "open" | "half_open"; opened_at: string | null };
  };
  leads: Record<string, number>;
};

export type TestResult =
  | { ok: true; account: { id: number | string; email?: string; name?: string; company?: string } }
  | { ok: false; code: "token_rejected" | "clientify_unavailable"; message: string; status: number | null };

export type DeadLetter = {
  lead: string;
  lead_name: string | null;
  conversation: string;
  status: string;
  attempts: number;
  last_error: string | null;
  dead_lettered_at: string | null;
};

export const EVENT_TYPES = ["lead.qualified", "strategy.ready", "lead.erased", "crm.sync_failed"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type Endpoint = {
  id: string;
  url: string;
  description: string;
  event_types: EventType[];
  active: boolean;
  created: string;
  updated: string;
  secret?: string; // only in the answer to a create or a rotation
};

export type Delivery = {
  id: string;
  event_id: string;
  type: EventType;
  status: "pending" | "delivered" | "dead";
  attempts: number;
  response_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  delivered_at: string | null;
  dead_lettered: boolean;
  created: string;
};

export const getClientify = () => api<Clientify>("integrations/clientify/");

export const saveClientify = (body: { api_token?: string; enabled: boolean; field_mapping?: Mapping }) =>
  apiForm<Clientify>("integrations/clientify/", { method: "PUT", body: JSON.stringify(body) });

export const testClientify = (api_token?: string) =>
  apiForm<TestResult>("integrations/clientify/test", {
    method: "POST", body: JSON.stringify(api_token ? { api_token } : {}),
  });

export const deadLetters = () => api<Page<DeadLetter>>("integrations/clientify/dead-letters/?page_size=200");

export const resync = (leadId: string) => api<{ queued: boolean }>(`leads/${leadId}/resync/`, { method: "POST" });

export const listEndpoints = () => api<{ results: Endpoint[] }>("webhooks/");

export const createEndpoint = (body: { url: string; description: string; event_types: EventType[] }) =>
  apiForm<Endpoint>("webhooks/", { method: "POST", body: JSON.stringify(body) });

export const updateEndpoint = (id: string, body: Partial<Pick<Endpoint, "url" | "description" | "event_types" | "active">>) =>
  apiForm<Endpoint>(`webhooks/${id}/`, { method: "PATCH", body: JSON.stringify(body) });

export const deleteEndpoint = (id: string) => api<void>(`webhooks/${id}/`, { method: "DELETE" });

export const rotateSecret = (id: string) => api<Endpoint>(`webhooks/${id}/rotate-secret/`, { method: "POST" });

export const getEndpoint = (id: string) => api<Endpoint>(`webhooks/${id}/`);

export const listDeliveries = (id: string) => api<Page<Delivery>>(`webhooks/${id}/deliveries/?page_size=100`);

export const replayDelivery = (endpoint: string, delivery: string) =>
  api<Delivery>(`webhooks/${endpoint}/deliveries/${delivery}/replay/`, { method: "POST" });
