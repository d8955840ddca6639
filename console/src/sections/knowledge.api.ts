/** REST of the knowledge base (strategy/knowledge/api.py): documents and the
 * retrieval the strategy writer uses. */
import { api, apiUpload, type Page } from "../api";

export type DocStatus = "queued" | "indexing" | "ready" | "failed";

export type KnowledgeDocument = {
  id: string;
  title: string;
  filename: string;
  kind: "pdf" | "docx" | "markdown" | "text";
  content_type: string;
  size: number;
  sha256: string;
  status: DocStatus;
  error: string | null;
  chunks: number;
  created: string;
  updated: string;
};

export type SearchHit = { document_id: string; index: number; title: string; text: string; score: number };

// The server's KNOWLEDGE_MAX_BYTES default; a deployment that lowers it still answers 413 per file.
export const MAX_BYTES = 10 * 1024 * 1024;
export const EXTENSIONS = ["pdf", "docx", "md", "markdown", "txt", "text"];
export const ACCEPT = ".pdf,.docx,.md,.markdown,.txt,.text,application/pdf,text/markdown,text/plain,"
  + "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/** Why a file would be refused before sending it (the same rules the API applies), or null. */
export function refusal(file: File): "type" | "size" | "empty" | null {
  const name = file.name.toLowerCase();
  const extension = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1) : "";
  if (!EXTENSIONS.includes(extension)) return "type";
  if (file.size > MAX_BYTES) return "size";
  if (file.size === 0) return "empty";
  return null;
}

export async function listDocuments(): Promise<KnowledgeDocument[]> {
  const all: KnowledgeDocument[] = [];
  let path: string | null = "knowledge/documents/?page_size=200";
  // An agency's knowledge base is tens of documents; the loop only guards against more.
  for (let pages = 0; path && pages < 10; pages++) {
    const page: Page<KnowledgeDocument> = await api<Page<KnowledgeDocument>>(path);
    all.push(...page.results);
    path = page.next ? "knowledge/documents/" + new URL(page.next, location.origin).search : null;
  }
  return all;
}

export function uploadDocument(file: File, onProgress: (f: number) => void) {
  const form = new FormData();
  form.append("file", file, file.name);
  return apiUpload<KnowledgeDocument>("knowledge/documents/", "POST", form, onProgress);
}

export function replaceDocument(id: string, file: File, onProgress: (f: number) => void) {
  const form = new FormData();
  form.append("file", file, file.name);
  return apiUpload<KnowledgeDocument>(`knowledge/documents/${id}/`, "PUT", form, onProgress);
}

export const deleteDocument = (id: string) => api<void>(`knowledge/documents/${id}/`, { method: "DELETE" });

export const searchKnowledge = (q: string, limit = 8) =>
  api<{ results: SearchHit[] }>(`knowledge/search?${new URLSearchParams({ q, limit: String(limit) })}`);
